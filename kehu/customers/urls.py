from kehu.customers.views import urlpatterns

__all__ = ["urlpatterns"]
