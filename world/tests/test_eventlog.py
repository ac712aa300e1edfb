"""The event log: a tick's events packed in its TickRecord read back exactly as the tick emitted
them, by tick, by day and kind, newest first, and in the admin."""

from __future__ import annotations

import hashlib
import json
import zlib

from django.urls import reverse

from village.tick import tick_advance
from world.compress import ZSTD_MAGIC
from world.eventlog import (
    events_all,
    events_of_day,
    events_of_tick,
    events_recent,
    kinds_of_day,
    lines_of_tick,
    log_events,
    log_pack,
    log_unpack,
)
from world.models import TickRecord


def run(world, ticks: int) -> list:
    outs = [tick_advance(world_id=world.id, dispatch_jobs=False) for _ in range(ticks)]
    world.refresh_from_db()
    return outs


def test_logs_packed_with_zlib_before_zstandard_still_read():
    lines = ['[3,0,"arrive",1,"Cafe",null,{}]']
    old = zlib.compress((1).to_bytes(4, "little") + (42).to_bytes(8, "little") + lines[0].encode(), 1)
    assert log_unpack(old) == (lines, [42])
    assert log_pack(lines, [42])[:4] == ZSTD_MAGIC


def test_packing_round_trips_lines_and_agent_ids():
    lines = ['[3,0,"arrive",1,"Cafe",null,{}]', '[3,1,"scripted",null,"Square",null,{"n":"é"}]']
    assert log_unpack(log_pack(lines, [42, None])) == (lines, [42, None])
    assert log_unpack(log_pack([], [])) == ([], [])
    (first, second) = log_events(log_pack(lines, [42, None]), day=2)
    assert (first.tick, first.seq, first.day, first.kind, first.agent_id, first.location, first.activity) == (
        3,
        0,
        2,
        "arrive",
        42,
        "Cafe",
        "",
    )
    assert (second.agent_id, second.data) == (None, {"n": "é"})


def test_each_tick_stores_the_events_it_emitted_and_its_digest_is_their_hash(world):
    outs = run(world, 6)
    ids = dict(enumerate(world.agents.order_by("order", "id").values_list("id", flat=True)))
    for out in outs:
        record = TickRecord.objects.get(world=world, tick=out.tick)
        assert record.events == len(out.events) and record.kinds
        lines = lines_of_tick(world, out.tick)
        assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == record.digest == out.digest
        stored = events_of_tick(world, out.tick)
        assert [
            (e.seq, e.kind, e.agent_id, e.location or None, e.activity or None, e.data) for e in stored
        ] == [
            (e["seq"], e["kind"], ids.get(e["agent"]), e["location"], e["activity"], e["data"])
            for e in out.events
        ]
        assert sum(record.kinds.values()) == record.events


def test_a_day_reads_in_order_and_filters_by_kind(world):
    run(world, 8)
    every = list(events_of_day(world, 1))
    assert [(e.tick, e.seq) for e in every] == sorted((e.tick, e.seq) for e in every)
    assert every == events_all(world)
    arrivals = list(events_of_day(world, 1, ["arrive"]))
    assert arrivals and arrivals == [e for e in every if e.kind == "arrive"]
    assert kinds_of_day(world, 1) == sorted({e.kind for e in every})
    assert list(events_of_day(world, 1, ["no.such.kind"])) == []
    assert list(events_of_day(world, 2)) == []


def test_recent_events_are_newest_first(world):
    run(world, 5)
    every = events_all(world)
    recent = events_recent(world, 7)
    assert recent == list(reversed(every))[:7]
    assert events_recent(world, 10_000) == list(reversed(every))


def test_the_admin_shows_a_ticks_events(client, admin_user, world):
    (*_, out) = run(world, 3)
    record = TickRecord.objects.get(world=world, tick=out.tick)
    client.force_login(admin_user)
    html = client.get(reverse("admin:world_tickrecord_change", args=[record.id])).content.decode()
    first = out.events[0]
    assert f"<td>{first['kind']}</td>" in html
    assert json.dumps(first["data"]).replace('"', "&quot;") in html
    assert client.get(reverse("admin:world_tickrecord_changelist")).status_code == 200
