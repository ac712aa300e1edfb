"""Every tick draws ids for hundreds to thousands of rows of these tables (visits, conversations
and their participants, relationship upserts, schedules): each `nextval` takes the sequence's lock
and logs every 32nd value. A per-session cache of 1,000 ids makes drawing them about three times
cheaper. Ids stay unique, but across sessions they are no longer in insertion order, which none of
these tables relies on: conversations are written only by the tick and read newest tick first,
visits and schedules by their ticks and hours. Memories keep an uncached sequence: the LLM jobs
write them from other sessions than the tick's, and retrieval breaks ties by id (a cached sequence
reordered them and changed what an interview prompt held). So do the ledger and the audit log,
whose order is their history. PostgreSQL only."""

from django.db import migrations

TABLES = ("AgentLocationVisit", "Conversation", "Relationship", "AgentSchedule")
CACHE = 1000


def cache(size):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        models = [apps.get_model("agents", name) for name in TABLES]
        tables = [m._meta.db_table for m in models]
        tables.append(apps.get_model("agents", "Conversation").participants.through._meta.db_table)
        for table in tables:
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET CACHE {int(size)}", params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0005_chat_and_relationship_tables_no_db_constraint"),
    ]

    operations = [migrations.RunPython(cache(CACHE), cache(1))]
