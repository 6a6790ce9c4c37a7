from kehu.core.models.attachments import Attachment, FileBlob
from kehu.core.models.audit import AuditEntry, AuditHead
from kehu.core.models.numbering import NumberSeries
from kehu.core.models.org import Absence, Department, Region, Role, User
from kehu.core.models.security import ApiToken, LoginAttempt
from kehu.core.models.workdays import CalendarDay, CalendarYear

__all__ = [
    "Absence",
    "ApiToken",
    "Attachment",
    "AuditEntry",
    "AuditHead",
    "CalendarDay",
    "CalendarYear",
    "Department",
    "FileBlob",
    "LoginAttempt",
    "NumberSeries",
    "Region",
    "Role",
    "User",
]
