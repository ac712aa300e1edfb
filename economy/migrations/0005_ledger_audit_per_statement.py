"""On PostgreSQL the ledger's audit rows are written once per INSERT statement from its transition
table, not by a trigger call per row: the tick's bulk wages (hundreds of rows at 10,000 agents)
then cost one INSERT ... SELECT. Same rows as 0004 writes; SQLite keeps its row trigger."""

import importlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import migrations

FIELDS = importlib.import_module("economy.migrations.0004_ledger_audit_trigger").FIELDS

FUNCTION = """CREATE OR REPLACE FUNCTION economy_ledger_audit_rows() RETURNS trigger AS $$ BEGIN
INSERT INTO economy_auditlog
    (action, actor_user_id, actor_agent_id, actor, target_type, target_id, data, created_at)
SELECT 'ledger.' || n.reason, n.source_user_id, n.source_agent_id,
       CASE n.source WHEN 'user' THEN 'user:' || COALESCE(u.{username}, '?')
                     WHEN 'agent' THEN 'agent:' || COALESCE(a.name, '?')
                     ELSE 'system' END,
       'ledger_entry', CAST(n.id AS TEXT), json_build_object({pairs})::jsonb, n.created_at
FROM new_rows AS n
LEFT JOIN {users} AS u ON u.id = n.source_user_id
LEFT JOIN {agents} AS a ON a.id = n.source_agent_id
ORDER BY n.id;
RETURN NULL; END; $$ LANGUAGE plpgsql;"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    user_model = get_user_model()
    schema_editor.execute(
        FUNCTION.format(
            username=user_model._meta.get_field(user_model.USERNAME_FIELD).column,
            users=user_model._meta.db_table,
            agents=apps.get_model("agents", "Agent")._meta.db_table,
            pairs=", ".join(f"'{name}', n.{name}" for name in FIELDS),
        ),
        params=None,
    )
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS economy_ledgerentry_audit ON economy_ledgerentry;", params=None
    )
    schema_editor.execute(
        "CREATE TRIGGER economy_ledgerentry_audit AFTER INSERT ON economy_ledgerentry "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION economy_ledger_audit_rows();",
        params=None,
    )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS economy_ledgerentry_audit ON economy_ledgerentry;", params=None
    )
    schema_editor.execute("DROP FUNCTION IF EXISTS economy_ledger_audit_rows();", params=None)
    schema_editor.execute(
        "CREATE TRIGGER economy_ledgerentry_audit AFTER INSERT ON economy_ledgerentry "
        "FOR EACH ROW EXECUTE FUNCTION economy_ledger_audit();",
        params=None,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("economy", "0004_ledger_audit_trigger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forward, backward)]
