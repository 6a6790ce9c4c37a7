from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from kehu.api import api
from kehu.core.views import shell as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False), name="api_docs"),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("", include("kehu.workflow.urls")),
    path("", include("kehu.core.urls")),
    path("", include("kehu.core.policies.urls")),
    path("", include("kehu.core.jobs.urls")),
    path("", include("kehu.customers.urls")),
    path("", include("kehu.onboarding.urls")),
    path("", include("kehu.credit.views")),
    path("", include("kehu.limits.urls")),
    path("", include("kehu.receivables.urls")),
    path("", include("kehu.grading.views")),
    path("", include("kehu.confidential.views")),
    path("", include("kehu.orders.urls")),
]

if settings.KEHU_DJANGO_ADMIN:
    # Read-only inspection of the raw tables for administrators (off unless KEHU_DJANGO_ADMIN=1).
    urlpatterns.insert(0, path("django-admin/", admin.site.urls))
