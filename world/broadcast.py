"""Sends a committed tick's diff to the world's channel group (`world.<id>`): one `world.tick`
message per tick, its JSON text built once here so that every consumer forwards the same string.

A tick frame, as browsers receive it:

    {"type": "tick", "tick": 57, "committed_at": 1767000000.123, "clock": "day 2 10:15",
     "status": "running", "full": false,
     "agents": [{"id", "name", "x", "y", "activity", "icon", "category", "location"}, ...],
     "walkers": [<id>, <x>, <y>, <id>, <x>, <y>, ...],
     "speech": [{"agent": <id>, "text": "...", "kind": "line" | "chat" | "meeting"}, ...],
     "events": [{"kind", "agent", "name", "location", "activity", "text"}, ...],
     "events_total": 12}

`agents` lists everyone an event names, with every field but `name` (names never change), and
`walkers` the other agents still walking, as flat (id, x, y) triples: only their tile changed (at
10,000 agents they are thousands a tick, and a dict each tripled the frame). A client merges both
into what it has. On a day's first tick, and every FULL_EVERY ticks, `agents` lists the whole
village with all fields, `walkers` is empty and `full` is true, so a client that missed something
catches up.
`events` holds at most MAX_EVENTS of the tick's events; `events_total` says how many there were.
`committed_at` is the wall time (epoch seconds) at which the hook ran, just after the commit."""

from __future__ import annotations

import json
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from world.models import World
from world.selectors import AgentLabeller, event_item, speech_item, window_of, world_agent_rows

log = logging.getLogger("village.broadcast")
FULL_EVERY = 12
MAX_EVENTS = 40
MAX_SPEECH = 40
QUIET_KINDS = frozenset({"board.intent"})
SPEECH_KINDS = frozenset({"chat.line", "chat", "meeting"})  # the kinds selectors.speech_item speaks


def world_group(world_id: int) -> str:
    return f"world.{world_id}"


def tick_frame(world: World, out, committed_at: float | None = None) -> dict:
    rows = world_agent_rows(world)
    labeller = AgentLabeller.for_world(world)
    n = len(rows)
    full = out.tick % FULL_EVERY == 0 or window_of(world).is_day_start(out.tick) or len(out.moved) >= n
    named = {a for a in out.event_agents() if a is not None} | set(out.moved)
    walkers: list[int] = []
    if full:
        agents = [labeller.row(*row) for row in rows]
    else:
        agents = [_without_name(labeller.row(*rows[i])) for i in sorted(i for i in named if i < n)]
        # A walker no event names is still walking: only its tile changed.
        for i, (agent_id, _, x, y, inside, _) in enumerate(rows):
            if inside < 0 and i not in named:
                walkers += (agent_id, x, y)
    events, speech = [], []
    kinds = out.event_kinds()
    for seq, kind in enumerate(kinds):
        # Only the events a frame can still carry are read (a big tick has thousands).
        if not (len(events) < MAX_EVENTS and kind not in QUIET_KINDS) and not (
            len(speech) < MAX_SPEECH and kind in SPEECH_KINDS
        ):
            continue
        e = out.event_at(seq)
        agent = e["agent"]
        agent_id, name = (rows[agent][0], rows[agent][1]) if agent is not None and agent < n else (None, None)
        said = speech_item(kind=e["kind"], agent_id=agent_id, data=e["data"])
        if said and agent_id is not None and len(speech) < MAX_SPEECH:
            speech.append(said)
        if e["kind"] not in QUIET_KINDS and len(events) < MAX_EVENTS:
            events.append(
                event_item(
                    kind=e["kind"],
                    agent_id=agent_id,
                    name=name,
                    location=e["location"],
                    activity=e["activity"],
                    data=e["data"],
                )
            )
    return {
        "type": "tick",
        "tick": out.tick,
        "committed_at": round(committed_at or time.time(), 6),
        "clock": window_of(world).label(out.tick),
        "status": world.status,
        "full": full,
        "agents": agents,
        "walkers": walkers,
        "speech": speech,
        "events": events,
        "events_total": len(kinds),
    }


def _without_name(row: dict) -> dict:
    row.pop("name")  # names never change; the snapshot and full frames carry them
    return row


def broadcast_tick(world_id: int, out) -> None:
    """The tick's after-commit hook: exactly one group_send per committed tick."""
    committed_at = time.time()
    world = World.objects.filter(pk=world_id).first()
    layer = get_channel_layer()
    if world is None or layer is None:
        return
    frame = tick_frame(world, out, committed_at)
    text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
    try:
        async_to_sync(layer.group_send)(world_group(world_id), {"type": "world.tick", "text": text})
    except Exception:  # a dead channel layer must not break the world; the next tick tries again
        log.exception("broadcast of world %s tick %s failed", world_id, out.tick)
