"""Web views of the platform, one module per concern; each module exports ``urlpatterns``."""
