"""Every ledger row writes its own audit row, in the same statement, whoever inserts it (the
services, bulk wages, or raw SQL): an AFTER INSERT trigger on PostgreSQL and on SQLite. A reward
is then one INSERT, which is atomic without an explicit transaction."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import migrations

ACTOR = """CASE NEW.source
    WHEN 'user' THEN 'user:' || COALESCE((SELECT {username} FROM {users} WHERE id = NEW.source_user_id), '?')
    WHEN 'agent' THEN 'agent:' || COALESCE((SELECT name FROM {agents} WHERE id = NEW.source_agent_id), '?')
    ELSE 'system' END"""
INSERT = """INSERT INTO economy_auditlog
    (action, actor_user_id, actor_agent_id, actor, target_type, target_id, data, created_at)
    VALUES ('ledger.' || NEW.reason, NEW.source_user_id, NEW.source_agent_id, {actor}, 'ledger_entry',
            CAST(NEW.id AS TEXT), {data}, NEW.created_at);"""
FIELDS = ("agent_id", "amount", "reason", "related_post_id", "external_txn_id", "note", "tick")


def _json(function: str) -> str:
    pairs = ", ".join(f"'{name}', NEW.{name}" for name in FIELDS)
    return f"{function}({pairs})"


def forward(apps, schema_editor):
    user_model = get_user_model()  # historical models lack USERNAME_FIELD
    names = {
        "users": user_model._meta.db_table,
        "username": user_model._meta.get_field(user_model.USERNAME_FIELD).column,
        "agents": apps.get_model("agents", "Agent")._meta.db_table,
    }
    actor = ACTOR.format(**names)
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        insert = INSERT.format(actor=actor, data=_json("json_build_object") + "::jsonb")
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION economy_ledger_audit() RETURNS trigger AS $$ BEGIN "
            f"{insert} RETURN NEW; END; $$ LANGUAGE plpgsql;",
            params=None,
        )
        schema_editor.execute(
            "CREATE TRIGGER economy_ledgerentry_audit AFTER INSERT ON economy_ledgerentry "
            "FOR EACH ROW EXECUTE FUNCTION economy_ledger_audit();",
            params=None,
        )
    elif vendor == "sqlite":
        insert = INSERT.format(actor=actor, data=_json("json_object"))
        schema_editor.execute(
            f"CREATE TRIGGER economy_ledgerentry_audit AFTER INSERT ON economy_ledgerentry BEGIN {insert} END;",
            params=None,
        )
    else:
        raise NotImplementedError(f"no ledger audit trigger for {vendor}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS economy_ledgerentry_audit ON economy_ledgerentry;")
        schema_editor.execute("DROP FUNCTION IF EXISTS economy_ledger_audit();")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS economy_ledgerentry_audit;")


class Migration(migrations.Migration):
    dependencies = [
        ("economy", "0003_agentcontrol"),
        ("agents", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forward, backward)]
