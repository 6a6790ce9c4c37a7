from kehu.limits.views import urlpatterns

__all__ = ["urlpatterns"]
