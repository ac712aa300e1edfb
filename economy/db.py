"""SQLite support for the append-only ledger trigger (migration 0002): every SQLite connection
gets `village_ledger_flushing()`, which is 1 only while Django flushes the whole database
(`manage.py flush`, the test runner between transactional tests). Row DELETEs stay refused."""

from __future__ import annotations


def sqlite_ledger_guard_install(sender, connection, **kwargs) -> None:
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function(
        "village_ledger_flushing", 0, lambda: 1 if getattr(connection, "_ledger_flushing", False) else 0
    )
    ops = connection.ops
    if getattr(ops, "_ledger_flush_wrapped", False):
        return
    original = ops.execute_sql_flush

    def execute_sql_flush(sql_list):
        connection._ledger_flushing = True
        try:
            return original(sql_list)
        finally:
            connection._ledger_flushing = False

    ops.execute_sql_flush = execute_sql_flush
    ops._ledger_flush_wrapped = True
