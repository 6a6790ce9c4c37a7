"""The audit chain's head row, the PostgreSQL trigger that refuses UPDATE/DELETE/TRUNCATE on the trail,
and the role rows of R-PLT-01."""

from django.db import migrations

GENESIS = "0" * 64

PG_TRIGGER = """
CREATE OR REPLACE FUNCTION kehu_audit_append_only() RETURNS trigger AS $$
BEGIN
    -- The test suite empties tables between transactional tests; it sets this for its own sessions only.
    IF TG_OP = 'TRUNCATE' AND current_setting('kehu.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'core_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS kehu_audit_no_update_delete ON core_auditentry;
CREATE TRIGGER kehu_audit_no_update_delete BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION kehu_audit_append_only();
DROP TRIGGER IF EXISTS kehu_audit_no_truncate ON core_auditentry;
CREATE TRIGGER kehu_audit_no_truncate BEFORE TRUNCATE ON core_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION kehu_audit_append_only();
"""

PG_TRIGGER_REVERSE = """
DROP TRIGGER IF EXISTS kehu_audit_no_update_delete ON core_auditentry;
DROP TRIGGER IF EXISTS kehu_audit_no_truncate ON core_auditentry;
DROP FUNCTION IF EXISTS kehu_audit_append_only();
"""

ROLES = [
    "sales_rep", "sales_manager", "credit_officer", "credit_manager", "credit_committee", "finance",
    "quality_engineer", "reviewer", "archivist", "general_manager", "pmo", "sysadmin", "auditor",
]


def forwards(apps, schema_editor):
    AuditHead = apps.get_model("core", "AuditHead")
    AuditHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS})
    Role = apps.get_model("core", "Role")
    for code in ROLES:
        Role.objects.get_or_create(code=code)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_TRIGGER, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_TRIGGER_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
