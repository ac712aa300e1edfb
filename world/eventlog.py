"""The event log: a tick's events are stored packed in its TickRecord, one row per tick, not one
row per event. At 10,000 agents a tick emits ~3,000 events; as rows they cost PostgreSQL more
than the rest of the tick's writes together (a tuple and four index entries each), packed they
are one compressed value of ~30 KB.

The packed form is the tick's canonical event lines, exactly the lines the tick's digest is the
hash of (`[tick, seq, kind, agent index, location, activity, data]`), plus the database id of
each event's agent, since the agent index is only a position in the engine's arrays. Readers get
`Event`s back; `kinds` (a count per kind, stored beside the log) lets a reader skip ticks that hold
none of the kinds it wants without unpacking them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from world.compress import compress, decompress

NONE = -1  # an event without an agent


@dataclass(frozen=True, slots=True)
class Event:
    tick: int
    seq: int
    day: int
    kind: str
    agent_id: int | None
    location: str  # "" when none
    activity: str  # "" when none
    data: dict


def log_pack(lines: list[str], agent_ids: Iterable[int | None]) -> bytes:
    """A tick's canonical event lines and each event's agent id (None: no agent), compressed."""
    ids = np.fromiter((NONE if a is None else a for a in agent_ids), np.int64, count=len(lines))
    text = "\n".join(lines).encode()
    return compress(len(lines).to_bytes(4, "little") + ids.tobytes() + text)


def log_unpack(blob: bytes) -> tuple[list[str], list[int | None]]:
    """(canonical lines, agent ids) of a packed log."""
    if not blob:
        return [], []
    raw = decompress(blob)
    count = int.from_bytes(raw[:4], "little")
    end = 4 + 8 * count
    ids = np.frombuffer(raw[4:end], np.int64).tolist()
    lines = raw[end:].decode().split("\n") if count else []
    return lines, [None if a == NONE else a for a in ids]


def log_events(blob: bytes, day: int, kinds: frozenset[str] | None = None) -> list[Event]:
    lines, agent_ids = log_unpack(blob)
    out = []
    for line, agent_id in zip(lines, agent_ids, strict=True):
        tick, seq, kind, _, location, activity, data = json.loads(line)
        if kinds is None or kind in kinds:
            out.append(Event(tick, seq, day, kind, agent_id, location or "", activity or "", data))
    return out


def kind_counts(kinds: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(kinds).items()))


# --- reading the log from the database -----------------------------------------------------


def _records(world):
    from world.models import TickRecord

    return TickRecord.objects.filter(world=world)


def events_of_tick(world, tick: int) -> list[Event]:
    row = _records(world).filter(tick=tick).values_list("day", "log").first()
    return log_events(row[1], row[0]) if row else []


def events_of_day(world, day: int, kinds: Iterable[str] | None = None) -> Iterator[Event]:
    """The day's events in order (only those of `kinds`, when given), a tick at a time."""
    return _events(_records(world).filter(day=day), kinds)


def events_all(world, kinds: Iterable[str] | None = None) -> list[Event]:
    """Every event the world has logged (of `kinds`, when given), in order."""
    return list(_events(_records(world), kinds))


def _events(records, kinds: Iterable[str] | None) -> Iterator[Event]:
    wanted = frozenset(kinds) if kinds else None
    rows = records.order_by("tick").values_list("day", "log", "kinds")
    for day, blob, counts in rows.iterator(chunk_size=50):
        if wanted is None or wanted.intersection(counts or {}):
            yield from log_events(blob, day, wanted)


def events_recent(world, limit: int) -> list[Event]:
    """The last `limit` events, newest first."""
    out: list[Event] = []
    rows = _records(world).filter(events__gt=0).order_by("-tick").values_list("day", "log")
    for day, blob in rows.iterator(chunk_size=8):
        out.extend(reversed(log_events(blob, day)))
        if len(out) >= limit:
            break
    return out[:limit]


def kinds_of_day(world, day: int) -> list[str]:
    seen: set[str] = set()
    for counts in _records(world).filter(day=day).values_list("kinds", flat=True):
        seen.update(counts or {})
    return sorted(seen)


def lines_of_tick(world, tick: int) -> list[str]:
    blob = _records(world).filter(tick=tick).values_list("log", flat=True).first()
    return log_unpack(blob)[0] if blob else []
