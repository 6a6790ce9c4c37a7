from kehu.customers.views import urlpatterns
from kehu.customers.views_contactlog import urlpatterns as contactlog_urlpatterns
from kehu.customers.views_documents import urlpatterns as documents_urlpatterns
from kehu.customers.views_handover import urlpatterns as handover_urlpatterns
from kehu.customers.views_import import urlpatterns as import_urlpatterns

urlpatterns = [
    *urlpatterns,
    *documents_urlpatterns,
    *contactlog_urlpatterns,
    *handover_urlpatterns,
    *import_urlpatterns,
]

__all__ = ["urlpatterns"]
