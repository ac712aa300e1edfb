"""The database itself refuses UPDATE and DELETE on ledger entries.

PostgreSQL: one plpgsql trigger function raising on both. (TRUNCATE is a whole-table wipe by an
operator, as `manage.py flush` and the test runner do; it fires no row trigger.)

SQLite: two RAISE(ABORT) triggers. SQLite's flush is `DELETE FROM`, which would fire the row
trigger, so the DELETE trigger lets a whole-database flush through: the economy app registers
`village_ledger_flushing()` on every SQLite connection and it returns 1 only while Django's
`execute_sql_flush` runs (economy/db.py). Where the function is not registered (the sqlite3 shell)
the trigger cannot run, so the DELETE still fails."""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION economy_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER economy_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON economy_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION economy_ledger_refuse_change();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS economy_ledgerentry_append_only ON economy_ledgerentry;
DROP FUNCTION IF EXISTS economy_ledger_refuse_change();
"""
SQLITE_FORWARD = [
    """
    CREATE TRIGGER economy_ledgerentry_no_update BEFORE UPDATE ON economy_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only (UPDATE refused)'); END;
    """,
    """
    CREATE TRIGGER economy_ledgerentry_no_delete BEFORE DELETE ON economy_ledgerentry
    WHEN village_ledger_flushing() = 0
    BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only (DELETE refused)'); END;
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS economy_ledgerentry_no_update;",
    "DROP TRIGGER IF EXISTS economy_ledgerentry_no_delete;",
]


def forward(apps, schema_editor):
    _run(schema_editor, PG_FORWARD, SQLITE_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, PG_BACKWARD, SQLITE_BACKWARD)


def _run(schema_editor, pg_sql, sqlite_sql):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(pg_sql, params=None)  # no placeholders: `%` is plpgsql here
    elif vendor == "sqlite":
        for statement in sqlite_sql:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"no append-only ledger trigger for {vendor}")


class Migration(migrations.Migration):
    dependencies = [("economy", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
