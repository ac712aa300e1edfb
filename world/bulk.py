"""Bulk writes any app may use: many rows in one statement (COPY on PostgreSQL, executemany
elsewhere), issued even when there are no rows so that a caller's query count stays flat. The tick
persists through these (village/tick.py), and so do the wages it pays (economy/services.py)."""

from __future__ import annotations

import io
import json
import time

import psycopg
import psycopg.copy
from django.db import connection


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def copy_rows(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    """COPY rows into a table (PostgreSQL), logged like a query so query counts see it. `rows` may
    also be the rows already spelled by `copy_spelled`."""
    started = time.perf_counter()
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.cursor.copy(sql) as copy:
        if isinstance(rows, bytes):
            copy.write(rows)
        else:
            for row in rows:
                copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.perf_counter() - started:.3f}"})


def copy_spelled(raw, rows) -> bytes:
    """Rows spelled in COPY's text format by psycopg's own formatter (written to memory through
    its FileWriter), so that another thread can spell them while this connection is busy. The
    connection lends only its adapters and its client encoding (no I/O, no lock); a tick never
    changes either mid-transaction."""
    buffer = io.BytesIO()
    with (
        psycopg.Cursor(raw) as cursor,
        psycopg.copy.Copy(cursor, writer=psycopg.copy.FileWriter(buffer)) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return buffer.getvalue()


def bulk_insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many rows in one statement (COPY on PostgreSQL, executemany elsewhere); the
    statement is issued even when there are no rows."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if is_postgres():
            copy_rows(cursor, table, columns, rows)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def pg_array(numbers) -> str:
    """Numbers as a PostgreSQL array literal, for a parameter the statement casts (`%s::bigint[]`,
    `%s::float8[]`): psycopg dumps a Python list element by element in Python, ~1 us each, which
    at thousands of elements a tick is milliseconds. (`str` of a float is its shortest exact
    spelling, so floats round-trip.)"""
    return "{" + ",".join(map(str, numbers)) + "}"


def jsonb(value) -> str:
    return json.dumps(value, separators=(",", ":"))
