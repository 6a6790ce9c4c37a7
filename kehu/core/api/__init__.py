"""The platform's API routers, one module per concern, mounted under /api/v1/."""

from ninja import Router

from kehu.core.api import attachments, audit, auth, calendar, org

router = Router()
router.add_router("/auth", auth.router, tags=["auth"])
router.add_router("/org", org.router, tags=["org"])
router.add_router("/audit", audit.router, tags=["audit"])
router.add_router("/attachments", attachments.router, tags=["attachments"])
router.add_router("/calendar", calendar.router, tags=["calendar"])
