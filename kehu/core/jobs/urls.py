from kehu.core.jobs.views import urlpatterns

__all__ = ["urlpatterns"]
