"""Builds a WorldState from plain rows (dicts), whether they come from a scenario file or from
the database, so every caller gets the same state for the same data."""

from __future__ import annotations

import numpy as np

from .clock import DayWindow
from .grid import Grid
from .state import NEEDS, NO, Activities, Agents, Locations, WorldState

WALKABLE = {"path", "grass", "floor"}


def grid_from_rows(rows: list[str], legend: dict[str, str]) -> Grid:
    walkable = np.array([[legend.get(ch, "wall") in WALKABLE for ch in row] for row in rows])
    return Grid(walkable)


def fields_prepare(state: WorldState) -> int:
    """Compute the walking fields towards every place of the world now (see Grid.prepare)."""
    anchor = state.locations.anchor.astype(np.int64)
    return state.grid.prepare((anchor[:, 1] * state.grid.width + anchor[:, 0]).tolist())


def anchor_of(area) -> tuple[int, int]:
    x0, y0, x1, y1 = area
    return (x0 + x1) // 2, (y0 + y1) // 2


def build_locations(rows: list[dict]) -> Locations:
    return Locations(
        names=[r["name"] for r in rows],
        kinds=[r["kind"] for r in rows],
        anchor=np.array([anchor_of(r["area"]) for r in rows], np.int32).reshape(-1, 2),
        area=np.array([r["area"] for r in rows], np.int32).reshape(-1, 4),
        capacity=np.array([r["capacity"] for r in rows], np.int32),
        open_hour=np.array([r["open_hours"][0] for r in rows], np.int32),
        close_hour=np.array([r["open_hours"][1] for r in rows], np.int32),
        ids=np.array([r.get("id", 0) for r in rows], np.int64),
    )


def build_activities(rows: list[dict]) -> Activities:
    effects = np.zeros((len(rows), len(NEEDS)), np.float32)
    for i, r in enumerate(rows):
        for need, delta in r.get("effects", {}).items():
            effects[i, NEEDS.index(need)] = delta
    return Activities(
        names=[r["name"] for r in rows],
        categories=[r["category"] for r in rows],
        duration=np.array([r["duration_minutes"] for r in rows], np.int32),
        allowed=[frozenset(r["locations"]) for r in rows],
        effects=effects,
        templates=[r.get("prompt_template", "") for r in rows],
        ids=np.array([r.get("id", 0) for r in rows], np.int64),
    )


def build_agents(rows: list[dict], locations: Locations) -> Agents:
    k = len(rows)
    index = {name: i for i, name in enumerate(locations.names)}
    home = np.array([index[r["home"]] for r in rows], np.int32)
    work = np.array([index[r["workplace"]] if r.get("workplace") else NO for r in rows], np.int32)
    full = lambda value, dtype=np.int32: np.full(k, value, dtype)  # noqa: E731
    return Agents(
        ids=np.array([r["id"] for r in rows], np.int64),
        names=[r["name"] for r in rows],
        interests=[dict(r.get("interests", {})) for r in rows],
        traits=[list(r.get("traits", [])) for r in rows],
        jobs=[r.get("job", "") for r in rows],
        home=home,
        work=work,
        work_hours=np.array([r.get("work_hours", (9, 17)) for r in rows], np.int32).reshape(-1, 2),
        speed=np.array([r.get("speed", 1.0) for r in rows], np.float32),
        pos=locations.anchor[home].copy() if k else np.zeros((0, 2), np.int32),
        needs=np.array([r.get("needs", (1.0, 0.8, 0.7, 0.7)) for r in rows], np.float32).reshape(-1, 4),
        inside=home.copy(),
        target=home.copy(),
        activity=full(NO),
        intent=full(NO),
        busy_until=full(0),
        chat_until=full(0),
        blocked=full(NO),
        blocked_until=full(0),
        tasks_done=full(0),
        reflect_acc=full(0),
        plan_act=np.full((k, 24), NO, np.int32),
        plan_loc=np.repeat(home[:, None], 24, axis=1).astype(np.int32),
        plan_source=["rule"] * k,
    )


def build_state(
    *,
    world_id: int,
    seed: int,
    tick: int,
    window: DayWindow,
    map_rows: list[str],
    legend: dict[str, str],
    locations: list[dict],
    activities: list[dict],
    agents: list[dict],
    relationships: list[tuple[int, int, float]] = (),
    memories: list[dict] = (),
    scripted: list[dict] = (),
    max_concurrent_chats: int = 0,
    options: dict | None = None,
) -> WorldState:
    locs = build_locations(locations)
    state = WorldState(
        world_id=world_id,
        seed=seed,
        tick=tick,
        window=window,
        grid=grid_from_rows(map_rows, legend),
        locations=locs,
        activities=build_activities(activities),
        agents=build_agents(agents, locs),
        max_concurrent_chats=max_concurrent_chats,
        options=dict(options or {}),
    )
    state.options.setdefault("scripted", list(scripted))
    index = state.agent_index()
    state.relationships = {
        (index[a], index[b]): float(s) for a, b, s in relationships if a in index and b in index
    }
    known = [set() for _ in range(len(state.agents))]
    for memory in memories:
        key = memory.get("fact_key")
        if key and memory["agent_id"] in index:
            state.facts.setdefault(key, (memory["fact_text"], int(memory["importance"])))
            known[index[memory["agent_id"]]].add(key)
    state.known = [frozenset(keys) for keys in known]
    return state
