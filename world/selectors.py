"""Reads for the live village: which world a visitor sees, the map and its places, where every
agent is and what it is doing, the snapshot a websocket gets on connect, any earlier tick of the
day (replayed from the day-start snapshot and the input log), reports and the event timeline.

Agents live in the `agents` app, which imports this one; to keep imports pointing one way the
map reads their live columns through the app registry instead of importing the model."""

from __future__ import annotations

import re
from collections import OrderedDict
from itertools import islice
from pathlib import Path
from threading import Lock

from django.apps import apps
from django.conf import settings

from world.engine.clock import DayWindow
from world.eventlog import events_of_day, events_of_tick, kinds_of_day
from world.eventlog import events_recent as events_recent_of
from world.models import (
    Activity,
    DailyReport,
    InputLog,
    Location,
    Snapshot,
    TickRecord,
    World,
)

CATEGORY_ICONS = {
    "work": "💼",
    "social": "💬",
    "wellness": "🧘",
    "leisure": "🎲",
    "food": "🍽️",
    "rest": "💤",
    "errand": "🛒",
    "learning": "📚",
}
WALKING_ICON = "🚶"
IDLE_ICON = "🙂"
TILE_COLORS = {
    "wall": "#5b5149",
    "path": "#e9dcc0",
    "grass": "#9fcf7f",
    "water": "#6aa9d8",
    "floor": "#f4efe6",
}
PICTURE_RE = re.compile(r"^day(?P<day>\d{3,})_(heatmap|relationships)\.png$")
LIVE_COLUMNS = ("id", "name", "x", "y", "inside", "activity")


class TickOutOfRange(ValueError):
    pass


def category_icon(category: str) -> str:
    """The map's icon for what an agent is doing: its activity's category, walking or idle."""
    if category == "walking":
        return WALKING_ICON
    return CATEGORY_ICONS.get(category, IDLE_ICON)


def category_legend() -> list[dict]:
    names = [*CATEGORY_ICONS, "walking", "idle"]
    return [{"category": name, "icon": category_icon(name)} for name in names]


def _agent_model():
    return apps.get_model("agents", "Agent")


# --- the world a visitor sees ---------------------------------------------------------------


def world_get_for_viewer(*, world_id: int | None = None) -> World | None:
    """The one access helper for world pages and sockets: the world asked for, else the first.
    Every world is public to watch; controls are checked separately (`user_can_operate`)."""
    worlds = World.objects.order_by("id")
    return worlds.filter(pk=world_id).first() if world_id is not None else worlds.first()


def user_can_operate(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def window_of(world: World) -> DayWindow:
    return DayWindow(world.start_hour, world.end_hour, world.tick_minutes)


def last_applied_tick(world: World) -> int:
    """`World.tick` is the next tick to run; -1 before the first one."""
    return world.tick - 1


def world_clock(world: World, tick: int | None = None) -> str:
    tick = last_applied_tick(world) if tick is None else tick
    return window_of(world).label(max(tick, 0))


# --- static map data ----------------------------------------------------------------------


def world_places(world: World) -> list[dict]:
    return [
        {
            "index": i,
            "id": loc.id,
            "name": loc.name,
            "kind": loc.kind,
            "area": [loc.x0, loc.y0, loc.x1, loc.y1],
            "open_hours": [loc.open_hour, loc.close_hour],
        }
        for i, loc in enumerate(Location.objects.filter(world=world).order_by("order", "id"))
    ]


def world_activities(world: World) -> list[tuple[str, str]]:
    """(name, category) per activity index."""
    return list(Activity.objects.filter(world=world).order_by("order", "id").values_list("name", "category"))


def world_map(world: World) -> dict:
    return {
        "id": world.id,
        "name": world.name,
        "width": world.width,
        "height": world.height,
        "rows": world.map_rows,
        "legend": world.legend,
        "colors": TILE_COLORS,
        "tick_seconds": world.tick_seconds,
        "ticks_per_day": window_of(world).ticks_per_day,
        "status": world.status,
    }


# --- live agents --------------------------------------------------------------------------


class AgentLabeller:
    """Turns an agent's live columns (location index, activity index) into what the map shows."""

    def __init__(self, places: list[str], activities: list[tuple[str, str]]):
        self.places, self.activities = places, activities

    @classmethod
    def for_world(cls, world: World) -> AgentLabeller:
        places = list(
            Location.objects.filter(world=world).order_by("order", "id").values_list("name", flat=True)
        )
        return cls(places, world_activities(world))

    def row(self, agent_id: int, name: str, x: int, y: int, inside: int, activity: int) -> dict:
        act = self.activities[activity] if 0 <= activity < len(self.activities) else None
        if inside < 0:
            category = "walking"
        else:
            category = act[1] if act else "idle"
        return {
            "id": int(agent_id),
            "name": name,
            "x": int(x),
            "y": int(y),
            "activity": act[0] if act else ("walking" if inside < 0 else None),
            "icon": category_icon(category),
            "category": category,
            "location": self.places[inside] if 0 <= inside < len(self.places) else None,
        }


def world_agent_rows(world: World) -> list[tuple]:
    """(id, name, x, y, inside, activity) of the agents the engine steps, in engine order (index =
    position). Positions come from the packed live state when it is as new as the world, since in
    big worlds the agents' own rows are refreshed a slice per tick (village/state_store.py). In
    the process that just ran the tick (the broadcast hook) they come from its in-memory state."""
    state = _state_cached(world)
    if state is not None:
        a = state.agents
        xs, ys = a.pos[:, 0].tolist(), a.pos[:, 1].tolist()
        return list(zip(a.ids.tolist(), a.names, xs, ys, a.inside.tolist(), a.activity.tolist(), strict=True))
    rows = list(_agent_model().objects.filter(world=world).order_by("order", "id").values_list(*LIVE_COLUMNS))
    limit = world.options.get("agent_limit")
    rows = rows[:limit] if limit else rows
    live = _live_arrays(world)
    if live is None:
        return rows
    at = {agent_id: k for k, agent_id in enumerate(live["ids"].tolist())}
    xs, ys = live["pos"][:, 0].tolist(), live["pos"][:, 1].tolist()
    inside, activity = live["inside"].tolist(), live["activity"].tolist()
    out = []
    for row in rows:
        k = at.get(row[0])
        out.append(row if k is None else (row[0], row[1], xs[k], ys[k], inside[k], activity[k]))
    return out


def _state_cached(world: World):
    from village.state_store import state_cached  # noqa: PLC0415 - the state store imports this app

    return state_cached(world)


def _live_arrays(world: World) -> dict | None:
    from village.state_store import live_arrays  # the project package imports this app's models

    return live_arrays(world)


# Agent columns the packed live state holds (as arrays named here), for `agents_overlay_live`.
LIVE_FIELDS = {
    "x": ("pos", 0),
    "y": ("pos", 1),
    "energy": ("needs", 0),
    "hunger": ("needs", 1),
    "social": ("needs", 2),
    "fun": ("needs", 3),
    "inside": ("inside", None),
    "target": ("target", None),
    "activity": ("activity", None),
    "busy_until": ("busy_until", None),
    "tasks_done": ("tasks_done", None),
}


def agents_overlay_live(world: World, agents: list) -> list:
    """Set the live columns of these Agent instances from the packed live state, which every tick
    writes whole, so a page shows this tick's values even where the agent's own row is refreshed
    only every few ticks (big worlds; village/state_store.py)."""
    live = _live_arrays(world) if agents else None
    if live is None:
        return agents
    at = {agent_id: k for k, agent_id in enumerate(live["ids"].tolist())}
    for agent in agents:
        k = at.get(agent.id)
        if k is None:
            continue
        for field, (name, column) in LIVE_FIELDS.items():
            if name in live and field in agent.__dict__:
                value = live[name][k] if column is None else live[name][k, column]
                setattr(agent, field, value.item())
    return agents


def agents_live(world: World, labeller: AgentLabeller | None = None) -> list[dict]:
    labeller = labeller or AgentLabeller.for_world(world)
    return [labeller.row(*row) for row in world_agent_rows(world)]


# --- event rows as the map shows them ----------------------------------------------------


def event_text(kind: str, data: dict) -> str:
    if kind == "chat.line":
        return str(data.get("text", ""))
    if kind in ("chat", "meeting"):
        who = ", ".join(str(p) for p in data.get("participants", []))
        return f"{who} talk about {data.get('topic', 'the day')}"
    if kind == "move.start" and data.get("origin"):
        return f"from {data['origin']}"
    for key in ("description", "title", "reason", "task"):
        if data.get(key):
            return str(data[key])
    return ""


def event_item(*, kind, agent_id, name, location, activity, data, tick=None) -> dict:
    item = {
        "kind": kind,
        "agent": agent_id,
        "name": name,
        "location": location or None,
        "activity": activity or None,
        "text": event_text(kind, data)[:300],
    }
    if tick is not None:
        item["tick"] = tick
    return item


def speech_item(*, kind, agent_id, data) -> dict | None:
    if kind == "chat.line":
        return {"agent": agent_id, "text": str(data.get("text", ""))[:300], "kind": "line"}
    if kind in ("chat", "meeting"):
        return {"agent": agent_id, "text": f"About {data.get('topic', 'the day')}…", "kind": kind}
    return None


def events_recent(world: World, limit: int = 30) -> list[dict]:
    names = dict(_agent_model().objects.filter(world=world).values_list("id", "name"))
    rows = events_recent_of(world, limit)
    window = window_of(world)
    items = []
    for e in rows:
        item = event_item(
            kind=e.kind,
            agent_id=e.agent_id,
            name=names.get(e.agent_id),
            location=e.location,
            activity=e.activity,
            data=e.data,
            tick=e.tick,
        )
        item["clock"] = window.label(e.tick)
        items.append(item)
    return items


# --- the snapshot a websocket gets on connect ----------------------------------------------


def world_snapshot(*, world: World) -> dict:
    labeller = AgentLabeller.for_world(world)
    tick = last_applied_tick(world)
    return {
        "type": "snapshot",
        "tick": tick,
        "clock": world_clock(world),
        "status": world.status,
        "world": world_map(world),
        "locations": world_places(world),
        "agents": agents_live(world, labeller),
        "events": list(reversed(events_recent(world, 20))),
    }


# --- the time scrubber --------------------------------------------------------------------

# Replayed states are kept per world so that dragging the scrubber forward steps on from the
# last replayed tick instead of from the start of the day.
_REPLAYS: OrderedDict[int, object] = OrderedDict()
_REPLAY_LOCK = Lock()
_REPLAY_WORLDS = 4


def scrub_range(world: World) -> tuple[int, int]:
    """The ticks of the current day that can be viewed: its first tick to the last applied."""
    last = last_applied_tick(world)
    if last < 0:
        return 0, -1
    return window_of(world).first_tick(window_of(world).day_of(last)), last


def world_at_tick(*, world: World, tick: int) -> dict:
    """Where everyone was and what they were doing at the end of `tick`, recomputed by replaying
    the engine from the day-start snapshot with the recorded inputs (no model is called); each
    replayed tick's digest is checked against its TickRecord."""
    first, last = scrub_range(world)
    if not first <= tick <= last:
        raise TickOutOfRange(f"tick {tick} is not in today's range {first}..{last}")
    activities = world_activities(world)
    with _REPLAY_LOCK:
        state = _replayed_state(world, first, tick)
        agents = state.agents
        labeller = AgentLabeller(list(state.locations.names), activities)
        rows = [
            labeller.row(
                int(agents.ids[i]), agents.names[i], *agents.pos[i], agents.inside[i], agents.activity[i]
            )
            for i in range(len(agents))
        ]
        names = {int(i): n for i, n in zip(agents.ids, agents.names, strict=True)}
    return {
        "type": "at",
        "tick": tick,
        "clock": world_clock(world, tick),
        "range": [first, last],
        "agents": rows,
        "events": _events_at(world, tick, names),
    }


def _replayed_state(world: World, first: int, tick: int):
    """The engine state after `tick`: stepped on from the cached replay when it is behind, else
    rebuilt from the day-start snapshot. Call with _REPLAY_LOCK held."""
    from village.replay import state_from_snapshot  # orchestrator layer: imported late
    from world.engine.step import engine_step

    key = (world.id, world.state_version, first)
    cached = _REPLAYS.get(world.id)
    if cached and cached[0] == key and cached[1].tick <= tick + 1:
        state = cached[1]
    else:
        _REPLAYS.pop(world.id, None)
        snapshot = Snapshot.objects.filter(world=world, tick=first).order_by("id").first()
        if snapshot is None:
            raise TickOutOfRange(f"there is no snapshot at the start of the day (tick {first})")
        state = state_from_snapshot(world, snapshot)
    inputs = _inputs_by_tick(world, state.tick, tick)
    digests = dict(
        TickRecord.objects.filter(world=world, tick__gte=state.tick, tick__lte=tick).values_list(
            "tick", "digest"
        )
    )
    while state.tick <= tick:
        at = state.tick
        out = engine_step(state, inputs.get(at, []), llm_jobs=False)
        if digests.get(at) != out.digest:
            _REPLAYS.pop(world.id, None)
            raise TickOutOfRange(f"the replay of tick {at} does not match its recorded digest")
    _REPLAYS[world.id] = (key, state)
    _REPLAYS.move_to_end(world.id)
    while len(_REPLAYS) > _REPLAY_WORLDS:
        _REPLAYS.popitem(last=False)
    return state


def _inputs_by_tick(world: World, first: int, last: int) -> dict[int, list[dict]]:
    rows = (
        InputLog.objects.filter(world=world, applied_tick__gte=first, applied_tick__lte=last)
        .exclude(status=InputLog.Status.PENDING)
        .order_by("id")
        .values_list("id", "applied_tick", "kind", "payload")
    )
    out: dict[int, list[dict]] = {}
    for seq, applied, kind, payload in rows:
        out.setdefault(applied, []).append({"seq": seq, "kind": kind, "payload": payload})
    return out


def _events_at(world: World, tick: int, names: dict[int, str]) -> list[dict]:
    return [
        event_item(
            kind=e.kind,
            agent_id=e.agent_id,
            name=names.get(e.agent_id),
            location=e.location,
            activity=e.activity,
            data=e.data,
            tick=e.tick,
        )
        for e in events_of_tick(world, tick)[:100]
    ]


# --- reports ------------------------------------------------------------------------------


def reports_for_world(world: World):
    return (
        DailyReport.objects.filter(world=world)
        .order_by("-day")
        .only("id", "day", "digest", "metrics", "created_at")
    )


def report_get(*, world: World, day: int) -> DailyReport | None:
    return DailyReport.objects.filter(world=world, day=day).first()


def report_pictures(report: DailyReport) -> list[dict]:
    stem = f"day{report.day:03d}"
    titles = {"heatmap": "Where people spent the day", "relationships": "Relationship changes"}
    out = []
    for kind, title in titles.items():
        name = f"{stem}_{kind}.png"
        if report_picture_path(report=report, name=name) is not None:
            out.append({"name": name, "title": title})
    return out


def report_picture_path(*, report: DailyReport, name: str) -> Path | None:
    """A report's PNG, only by its own fixed file name and only from the report's directory, so
    no request can name another file."""
    match = PICTURE_RE.match(name)
    if match is None or int(match["day"]) != report.day:
        return None
    base = Path(settings.VILLAGE_REPORTS_DIR) / f"world{report.world_id}"
    folders = [base] + [Path(p).parent for p in (report.markdown_path, report.json_path) if p]
    for folder in folders:
        candidate = (folder / name).resolve()
        if candidate.parent == folder.resolve() and candidate.is_file():
            return candidate
    return None


TIMELINE_PAGE = 200


def report_timeline(*, world: World, day: int, kinds: list[str] | None = None, offset: int = 0) -> dict:
    window = window_of(world)
    events = events_of_day(world, day, kinds or None)
    page = list(islice(events, offset, offset + TIMELINE_PAGE + 1))
    names = dict(_agent_model().objects.filter(world=world).values_list("id", "name"))
    items = []
    for e in page[:TIMELINE_PAGE]:
        item = event_item(
            kind=e.kind,
            agent_id=e.agent_id,
            name=names.get(e.agent_id),
            location=e.location,
            activity=e.activity,
            data=e.data,
            tick=e.tick,
        )
        item["clock"] = window.label(e.tick)
        items.append(item)
    more = len(page) > TIMELINE_PAGE
    return {"items": items, "next_offset": offset + TIMELINE_PAGE if more else None}


def event_kinds(world: World, day: int) -> list[str]:
    return kinds_of_day(world, day)
