"""Moves engine state between the database and memory: `state_load` builds a WorldState with a
fixed number of queries, and the writers persist a tick in bulk (COPY, and COPY + UPDATE ... FROM
on PostgreSQL; executemany on SQLite), so a tick's query count does not grow with its agents.

Every tick writes the live per-agent arrays packed into one LiveState row (one statement, ~100 KB
compressed at 10,000 agents): that is what a reload reads, exactly, and what pages and the API
overlay on the agents' rows (`world.selectors.agents_overlay_live`). The agents' own live columns
(x, y, needs, activity, ...) are rewritten every tick for worlds up to VILLAGE_AGENT_ROWS_PER_TICK
agents; bigger worlds rewrite that many rows a tick in rotation, so a row (as the admin or plain
SQL sees it) is at most ceil(agents / limit) ticks behind. Rewriting 10,000 rows costs PostgreSQL
more than the rest of the tick together; the rotation keeps the tick's cost flat."""

from __future__ import annotations

import gc
import json

import numpy as np
from django.conf import settings
from django.db import connection

from agents.models import Agent, AgentSchedule, Memory, Relationship
from world.bulk import copy_rows, is_postgres, pg_array
from world.compress import compress, decompress
from world.engine.build import build_state, fields_prepare
from world.engine.state import KEPT_AROUND_ENGINE, NO, WorldState
from world.models import Activity, LiveState, Location, World
from world.selectors import window_of

AGENT_COLUMNS = (
    "x",
    "y",
    "energy",
    "hunger",
    "social",
    "fun",
    "inside",
    "target",
    "activity",
    "intent",
    "busy_until",
    "chat_until",
    "blocked",
    "blocked_until",
    "tasks_done",
    "reflect_acc",
)
# The arrays LiveState packs: everything per agent that changes while ticking, except today's
# plan (the schedule rows hold that).
LIVE_ARRAYS = (
    "pos",
    "needs",
    "inside",
    "target",
    "activity",
    "intent",
    "busy_until",
    "chat_until",
    "blocked",
    "blocked_until",
    "tasks_done",
    "reflect_acc",
    *KEPT_AROUND_ENGINE,
)
AGENT_ROWS_PER_TICK = 250
# From this many agents on, a loaded state is frozen out of the garbage collector's scans.
GC_FREEZE_AGENTS = 1000
GC_YOUNG_THRESHOLD = 50_000
_CACHE: dict[int, WorldState] = {}


def scripted_for_engine(world: World, locations: list[str], agent_names: list[str]) -> list[dict]:
    index = {name: i for i, name in enumerate(agent_names)}
    out = []
    for event in world.scripted_events:
        hours, minutes = (int(v) for v in event["time"].split(":"))
        out.append(
            {
                "day": event.get("day"),
                "minute": hours * 60 + minutes,
                "location": locations.index(event["place"]),
                "participants": [index[p] for p in event.get("participants", []) if p in index],
                "description": event["description"],
                "kind": event.get("kind", "gathering"),
                "duration_minutes": event.get("duration_minutes", 60),
            }
        )
    return out


def state_load(world: World) -> WorldState:
    locations = [
        {
            "id": loc.id,
            "name": loc.name,
            "kind": loc.kind,
            "area": loc.area,
            "capacity": loc.capacity,
            "open_hours": (loc.open_hour, loc.close_hour),
        }
        for loc in Location.objects.filter(world=world).order_by("order", "id")
    ]
    activities = list(
        Activity.objects.filter(world=world)
        .order_by("order", "id")
        .values("id", "name", "category", "duration_minutes", "locations", "effects", "prompt_template")
    )
    loc_names = {loc["id"]: loc["name"] for loc in locations}
    rows = list(Agent.objects.filter(world=world).order_by("order", "id").values())
    if world.options.get("agent_limit"):
        rows = rows[: world.options["agent_limit"]]
    agents = [
        {
            "id": r["id"],
            "name": r["name"],
            "interests": r["interests"],
            "traits": r["traits"],
            "job": r["job"],
            "home": loc_names[r["home_id"]],
            "workplace": loc_names.get(r["workplace_id"]),
            "work_hours": (r["work_start"], r["work_end"]),
            "speed": r["speed"],
        }
        for r in rows
    ]
    relationships = Relationship.objects.filter(source__world=world).values_list(
        "source_id", "target_id", "score"
    )
    facts = (
        Memory.objects.filter(agent__world=world)
        .exclude(fact_key="")
        .order_by("tick", "id")  # the original fact first: retellings carry a lower importance
        .values("agent_id", "fact_key", "fact_text", "importance")
    )
    state = build_state(
        world_id=world.id,
        seed=world.seed,
        tick=world.tick,
        window=window_of(world),
        map_rows=world.map_rows,
        legend=world.legend,
        locations=locations,
        activities=activities,
        agents=agents,
        relationships=list(relationships),
        memories=list(facts),
        scripted=scripted_for_engine(world, [loc["name"] for loc in locations], [a["name"] for a in agents]),
        max_concurrent_chats=world.max_concurrent_chats,
        options={"version": world.state_version},
    )
    state.reflect_threshold = int(world.options.get("reflect_threshold", state.reflect_threshold))
    _load_live_columns(world, state, rows)
    _load_schedule(world, state)
    if len(state.agents) >= GC_FREEZE_AGENTS:
        # Tens of thousands of long-lived dicts and lists (personas, facts) would otherwise be
        # rescanned by every full collection while ticks allocate their events and rows.
        gc.collect()
        gc.freeze()
        # A big tick allocates tens of thousands of short-lived tuples, lists and dicts (event
        # and memory rows), freed by reference counting; at the default threshold (700) each
        # tick would start a dozen young collections and now and then a full one.
        gc.set_threshold(max(gc.get_threshold()[0], GC_YOUNG_THRESHOLD), *gc.get_threshold()[1:])
    return state


def _load_live_columns(world: World, state: WorldState, rows: list[dict]) -> None:
    """The agents' live columns, then the packed live state over them when it is as new as the
    world (agent rows may lag it by a few ticks in big worlds; see agents_persist)."""
    agents = state.agents
    if not rows:
        return
    table = np.array([[r[c] for c in AGENT_COLUMNS] for r in rows], np.float64)
    agents.pos = table[:, 0:2].astype(np.int32)
    agents.needs = table[:, 2:6].astype(np.float32)
    for offset, name in enumerate(AGENT_COLUMNS[6:], start=6):
        setattr(agents, name, table[:, offset].astype(np.int32))
    # Where the live state does not say since when an agent is where it is, the day's start.
    agents.since[:] = state.window.first_tick(state.window.day_of(state.tick))
    live = live_arrays(world)
    if live is not None:
        live_unpack_into(state, live)


def live_pack(state: WorldState) -> bytes:
    """The live per-agent arrays (with the agents' ids) as one compressed blob."""
    agents = state.agents
    arrays = {"ids": agents.ids, **{name: getattr(agents, name) for name in LIVE_ARRAYS}}
    header, chunks, offset = {}, [], 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        header[name] = [array.dtype.str, list(array.shape), offset]
        chunks.append(array.tobytes())
        offset += array.nbytes
    head = json.dumps(header).encode()
    return compress(len(head).to_bytes(4, "little") + head + b"".join(chunks))


def live_unpack(data: bytes) -> dict[str, np.ndarray]:
    raw = decompress(data)
    size = int.from_bytes(raw[:4], "little")
    header, body = json.loads(raw[4 : 4 + size]), memoryview(raw)[4 + size :]
    out = {}
    for name, (dtype, shape, offset) in header.items():
        count = int(np.prod(shape))
        out[name] = np.frombuffer(body, dtype=dtype, count=count, offset=offset).reshape(shape).copy()
    return out


def live_unpack_into(state: WorldState, live: dict[str, np.ndarray]) -> None:
    """Overwrite the live arrays of the agents the unpacked blob knows (matched by id)."""
    ids = state.agents.ids
    order = np.argsort(live["ids"])
    where = np.searchsorted(live["ids"], ids, sorter=order)
    where = np.minimum(where, len(order) - 1)
    source = order[where] if len(order) else where
    known = (live["ids"][source] == ids) if len(order) else np.zeros(len(ids), bool)
    for name in LIVE_ARRAYS:
        if name in live:
            getattr(state.agents, name)[known] = live[name][source[known]]


def live_arrays(world: World) -> dict[str, np.ndarray] | None:
    """The world's packed live arrays as of its current tick (None when there are none yet)."""
    data = LiveState.objects.filter(world=world, tick=world.tick).values_list("data", flat=True).first()
    return live_unpack(bytes(data)) if data is not None else None


def visits_open(world: World) -> list[tuple[int, int, int]]:
    """(agent id, location id, since tick) of every agent inside a place now, from the live
    state: a visit's row is written only when it ends."""
    live = live_arrays(world)
    if live is None or "since" not in live:
        return []
    # The engine's location index is the position in this order (state_load).
    location_ids = list(
        Location.objects.filter(world=world).order_by("order", "id").values_list("id", flat=True)
    )
    inside = live["inside"]
    here = np.flatnonzero((inside >= 0) & (inside < len(location_ids)))
    return [
        (agent_id, location_ids[loc], since)
        for agent_id, loc, since in zip(
            live["ids"][here].tolist(), inside[here].tolist(), live["since"][here].tolist(), strict=True
        )
    ]


def _load_schedule(world: World, state: WorldState) -> None:
    day = state.window.day_of(state.tick)
    slots = list(
        AgentSchedule.objects.filter(agent__world=world, day=day).values_list(
            "agent_id", "slot_hour", "activity_id", "location_id", "source"
        )
    )
    if not slots:
        return
    agent_ids, hours, activity_ids, location_ids, sources = zip(*slots, strict=True)
    i = _index_of(state.agents.ids, np.array(agent_ids, np.int64))
    hour = np.array(hours, np.int64)
    location = _index_of(state.locations.ids, np.array(location_ids, np.int64))
    activity = _index_of(
        state.activities.ids, np.array([NO if a is None else a for a in activity_ids], np.int64)
    )
    keep = (i != NO) & (location != NO)
    state.agents.plan_loc[i[keep], hour[keep]] = location[keep]
    state.agents.plan_act[i[keep], hour[keep]] = activity[keep]
    for n, source in zip(i.tolist(), sources, strict=True):
        if n != NO:
            state.agents.plan_source[n] = source


def _index_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions of `wanted` database ids in `ids` (NO where absent)."""
    if not len(ids):
        return np.full(len(wanted), NO, np.int64)
    order = np.argsort(ids)
    where = np.minimum(np.searchsorted(ids, wanted, sorter=order), len(ids) - 1)
    found = order[where]
    return np.where(ids[found] == wanted, found, NO)


def state_get(world: World) -> WorldState:
    """The cached state for this world if it is still current, else a fresh load."""
    cached = state_cached(world)
    if cached is None:
        cached = _CACHE[world.id] = state_load(world)
        fields_prepare(cached)  # the state will tick: walking fields for every place now
    return cached


def state_cached(world: World) -> WorldState | None:
    """This process's state for the world if it is current (the tick that just committed here),
    without loading anything."""
    cached = _CACHE.get(world.id)
    if cached is None or cached.tick != world.tick or cached.options.get("version") != world.state_version:
        return None
    return cached


def state_put(world: World, state: WorldState) -> None:
    """Make `state` (the world's state stepped ahead, village/tick.py) the one this process keeps."""
    _CACHE[world.id] = state


def state_forget(world_id: int) -> None:
    _CACHE.pop(world_id, None)


# --- bulk writes ---------------------------------------------------------------------------


def agent_rows(state: WorldState, which: np.ndarray | None = None) -> list[tuple]:
    a = state.agents
    which = np.arange(len(a)) if which is None else which
    columns = [
        a.ids[which],
        a.pos[which, 0],
        a.pos[which, 1],
        *a.needs[which].T.astype(np.float64),
        *(getattr(a, name)[which] for name in AGENT_COLUMNS[6:]),
    ]
    return list(zip(*(c.tolist() for c in columns), strict=True))


def rows_due(n_agents: int, tick: int | None) -> np.ndarray:
    """Which agents' rows a tick rewrites: all of them up to VILLAGE_AGENT_ROWS_PER_TICK agents,
    else every k-th agent starting at tick % k, so each row is at most k ticks old."""
    limit = getattr(settings, "VILLAGE_AGENT_ROWS_PER_TICK", AGENT_ROWS_PER_TICK) or n_agents
    if tick is None or n_agents <= limit:
        return np.arange(n_agents)
    every = -(-n_agents // limit)
    return np.arange(tick % every, n_agents, every)


def agent_rows_due(state: WorldState, tick: int | None) -> list[tuple]:
    return agent_rows(state, rows_due(len(state.agents), tick))


def agents_persist(state: WorldState, *, tick: int | None = None) -> None:
    """Write the live state: the packed arrays of every agent (one row per world, what a reload
    reads) and the agents' own rows, all of them or, given the tick, that tick's share."""
    with connection.cursor() as cursor:
        cursor.execute(LIVE_UPSERT, live_params(state))
        rows = agent_rows_due(state, tick)
        if is_postgres():
            cursor.execute(AGENT_TICK_TABLE)
            copy_rows(cursor, "agent_tick", AGENT_TICK_COLUMNS, rows)
            cursor.execute(AGENT_TICK_UPDATE, agent_update_params(rows))
        else:
            assign = ", ".join(f"{c} = %s" for c in AGENT_COLUMNS)
            cursor.executemany(
                f"UPDATE {Agent._meta.db_table} SET {assign} WHERE id = %s", [r[1:] + r[:1] for r in rows]
            )


def bulk_update_agents(state: WorldState) -> None:
    """Every agent row and the packed live state (restores, tests)."""
    agents_persist(state)


LIVE_UPSERT = (
    f"INSERT INTO {LiveState._meta.db_table} (world_id, tick, agents, data) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (world_id) DO UPDATE SET tick = excluded.tick, agents = excluded.agents, data = excluded.data"
)
AGENT_TICK_COLUMNS = ("id", *AGENT_COLUMNS)
AGENT_TICK_TABLE = "CREATE TEMP TABLE IF NOT EXISTS agent_tick (id bigint, {}) ON COMMIT DELETE ROWS".format(
    ", ".join(
        f"{c} {'double precision' if c in ('energy', 'hunger', 'social', 'fun') else 'integer'}"
        for c in AGENT_COLUMNS
    )
)
# The ids again, as an array: the temporary table has no statistics, and without them the planner
# guesses hundreds of rows and hashes a sequential scan of every agent (7 ms at 10,000 agents for
# a tick's 250 rows); with them it looks the rows up in the primary key (2 ms).
AGENT_TICK_UPDATE = (
    "UPDATE {} AS a SET {} FROM agent_tick AS v WHERE a.id = v.id AND a.id = ANY(%s::bigint[])".format(
        Agent._meta.db_table, ", ".join(f"{c} = v.{c}" for c in AGENT_COLUMNS)
    )
)


def agent_update_params(rows: list[tuple]) -> list:
    """AGENT_TICK_UPDATE's parameter: the ids of the agent rows copied to the temp table."""
    return [pg_array(row[0] for row in rows)]


def live_params(state: WorldState) -> list:
    return [state.world_id, state.tick, len(state.agents), live_pack(state)]
