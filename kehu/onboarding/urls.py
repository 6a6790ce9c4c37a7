from kehu.onboarding.views import urlpatterns
from kehu.onboarding.views_reviewers import urlpatterns as reviewer_urlpatterns

urlpatterns = [*reviewer_urlpatterns, *urlpatterns]

__all__ = ["urlpatterns"]
