"""The platform's pages: each concern's views module brings its own ``urlpatterns``."""

from kehu.core.views import attachments, audit, calendar, numbering, org, shell, tokens

urlpatterns = [
    *shell.urlpatterns,
    *org.urlpatterns,
    *audit.urlpatterns,
    *attachments.urlpatterns,
    *calendar.urlpatterns,
    *numbering.urlpatterns,
    *tokens.urlpatterns,
]
