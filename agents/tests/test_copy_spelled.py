"""Rows the tick spells on its packing thread (`state_bulk.copy_spelled`) go into PostgreSQL
exactly as rows written one by one would: model text with tabs, newlines, backslashes, quotes,
other scripts and markup, and missing values."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from agents.models import Agent, Memory
from village.tick import MEMORY_COLUMNS
from world import bulk

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL=postgres://...)"
    ),
]

AWKWARD = [
    "tab\there, newline\nthere, carriage\rreturn",
    "back\\slash \\N \\. and a lone \\",
    "<script>alert('x')</script> & \"quotes\"",
    "Ünïcödé — 日本語の文 — 🙂",
    "",
    "x" * 20_000,
]


def test_spelled_rows_arrive_as_written(world):
    agent = Agent.objects.filter(world=world).order_by("id").first()
    rows = [
        (
            agent.id,
            "observation",
            text,
            n % 10,
            7,
            420 + n,
            420 + n,
            '["a\\tb", 1]',
            f"k{n}" if n % 2 else "",
            text[:50],
            None,
        )
        for n, text in enumerate(AWKWARD)
    ]
    connection.ensure_connection()
    with ThreadPoolExecutor(1) as pool:  # spelled on another thread, as the tick does
        spelled = pool.submit(bulk.copy_spelled, connection.connection, rows).result()
    with connection.cursor() as cursor:
        bulk.copy_rows(cursor, Memory._meta.db_table, MEMORY_COLUMNS, spelled)
    stored = list(
        Memory.objects.filter(agent=agent, tick=7)
        .order_by("id")
        .values_list(
            "text", "importance", "game_minute", "evidence", "fact_key", "fact_text", "about_agent_id"
        )
    )
    assert stored == [(r[2], r[3], r[5], ["a\tb", 1], r[8], r[9], None) for r in rows]


def test_spelled_rows_match_rows_written_one_by_one(world):
    agent = Agent.objects.filter(world=world).order_by("id").first()
    rows = [(agent.id, "reflection", text, 5, 8, 1, 1, "[]", "", "", agent.id) for text in AWKWARD]
    connection.ensure_connection()
    with connection.cursor() as cursor:
        bulk.copy_rows(cursor, Memory._meta.db_table, MEMORY_COLUMNS, rows)
        bulk.copy_rows(
            cursor, Memory._meta.db_table, MEMORY_COLUMNS, bulk.copy_spelled(connection.connection, rows)
        )
    texts = list(
        Memory.objects.filter(agent=agent, tick=8).order_by("id").values_list("text", "about_agent_id")
    )
    assert texts[: len(rows)] == texts[len(rows) :] == [(t, agent.id) for t in AWKWARD]
