"""The compact world state the engine steps: static tables (map, locations, activities) and one
numpy array per agent attribute. Everything a tick needs is here; serialization round-trips it
exactly, which is what snapshots and replay rely on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

import numpy as np

from .clock import DayWindow
from .grid import Grid

NEEDS = ("energy", "hunger", "social", "fun")
# Needs fall by these amounts per game hour (1.0 is fully satisfied).
NEED_DECAY_PER_HOUR = np.array([0.05, 0.08, 0.05, 0.04], np.float32)
NO = -1


@dataclass
class Locations:
    names: list[str]
    kinds: list[str]
    anchor: np.ndarray  # (L, 2) x, y
    area: np.ndarray  # (L, 4)
    capacity: np.ndarray  # (L,)
    open_hour: np.ndarray
    close_hour: np.ndarray
    ids: np.ndarray  # database ids (0 when not persisted)

    def is_open(self, hour: int) -> np.ndarray:
        return (self.open_hour <= hour) & (hour < self.close_hour)


@dataclass
class Activities:
    names: list[str]
    categories: list[str]
    duration: np.ndarray  # minutes
    allowed: list[frozenset[str]]  # location kinds
    effects: np.ndarray  # (A, 4) per hour
    templates: list[str]
    ids: np.ndarray


# Per-agent arrays the persistence around the engine keeps (village/tick.py), not part of the
# engine's rules or its digest: packed in the live state and saved in snapshots with the rest.
KEPT_AROUND_ENGINE = ("since", "unpaid")


@dataclass
class Agents:
    ids: np.ndarray  # database ids
    names: list[str]
    interests: list[dict[str, float]]
    traits: list[list[str]]
    jobs: list[str]
    home: np.ndarray
    work: np.ndarray  # NO when none
    work_hours: np.ndarray  # (K, 2)
    speed: np.ndarray  # tiles per game minute (float)
    pos: np.ndarray  # (K, 2) int32
    needs: np.ndarray  # (K, 4) float32
    inside: np.ndarray  # location index or NO while walking
    target: np.ndarray  # location index the agent is heading to / staying at
    activity: np.ndarray  # activity index or NO
    intent: np.ndarray  # activity to start on arrival
    busy_until: np.ndarray  # tick at which the current activity ends
    chat_until: np.ndarray  # no new chat before this tick
    blocked: np.ndarray  # location refused this agent (full/closed) ...
    blocked_until: np.ndarray  # ... until this tick
    tasks_done: np.ndarray
    reflect_acc: np.ndarray  # importance gathered since the last reflection
    plan_act: np.ndarray  # (K, 24) activity per hour of today's plan
    plan_loc: np.ndarray  # (K, 24) location per hour
    plan_source: list[str]  # "rule" or "llm"
    # Tick the agent entered `inside` (its open visit's start). Kept by the persistence around the
    # engine (village/tick.py), which writes a visit when it ends; not part of the engine's rules.
    since: np.ndarray | None = None
    # Work blocks done and not yet paid: wages are paid, one ledger entry per shift, when the
    # agent leaves the place it worked at (village/tick.py). Also kept outside the engine.
    unpaid: np.ndarray | None = None

    def __post_init__(self):
        if self.since is None:
            self.since = np.zeros(len(self.ids), np.int32)
        if self.unpaid is None:
            self.unpaid = np.zeros(len(self.ids), np.int32)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class WorldState:
    world_id: int
    seed: int
    tick: int  # the next tick to run
    window: DayWindow
    grid: Grid
    locations: Locations
    activities: Activities
    agents: Agents
    relationships: dict[tuple[int, int], float] = field(default_factory=dict)
    facts: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (text, importance)
    # Per agent, the fact keys it knows; frozen, so that a tick replaces the set it adds to and a
    # copy of the state (state_fork) can share the others.
    known: list[frozenset[str]] = field(default_factory=list)
    max_concurrent_chats: int = 0  # 0 = no cap
    reflect_threshold: int = 40
    options: dict = field(default_factory=dict)
    # Lookups derived from the static tables (engine/tables.py), rebuilt on demand; never saved.
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def agent_index(self) -> dict[int, int]:
        return {int(agent_id): i for i, agent_id in enumerate(self.agents.ids)}

    def location_index(self, name: str) -> int:
        return self.locations.names.index(name)

    def activity_index(self, name: str) -> int:
        return self.activities.names.index(name)


DYNAMIC = (
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
    "plan_act",
    "plan_loc",
)


_NONE = object()


class ScoresOver(dict):
    """Relationship scores written over others that are only read: what a fork of the state
    writes, in itself, over the relationships of the state it was forked from. Reading a score
    (`get`, `[]`, `in`) sees both; iterating or counting sees only the scores written (the engine
    only reads and writes scores one by one)."""

    __slots__ = ("under",)

    def __init__(self, under: dict):
        super().__init__()
        self.under = under

    def get(self, key, default=None):
        score = dict.get(self, key, _NONE)
        return self.under.get(key, default) if score is _NONE else score

    def __missing__(self, key):
        return self.under[key]

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or key in self.under


def state_fork(state: WorldState) -> WorldState:
    """A copy the engine can step without touching `state`: the per-agent arrays, today's plan
    sources, the facts and who knows them are copied; the static tables (map, places, activities,
    personas) and their derived lookups are shared; the relationships, which grow every day and
    would soon cost more to copy than a tick, are read through (ScoresOver) until `fork_settle`."""
    agents = state.agents
    changing = {name: getattr(agents, name).copy() for name in (*DYNAMIC, *KEPT_AROUND_ENGINE)}
    return replace(
        state,
        agents=replace(agents, **changing, plan_source=list(agents.plan_source)),
        facts=dict(state.facts),
        known=list(state.known),
        relationships=ScoresOver(state.relationships),
    )


def fork_settle(fork: WorldState) -> None:
    """Make a stepped fork stand alone, as the state from now on: its relationship scores go into
    the relationships it read through, which become its own (the state it was forked from is
    done with)."""
    if isinstance(fork.relationships, ScoresOver):
        under = fork.relationships.under
        under.update(fork.relationships)
        fork.relationships = under


def dynamic_dict(state: WorldState) -> dict:
    """Everything that changes while ticking, as JSON-able data (snapshots, digests)."""
    agents = state.agents
    out = {name: getattr(agents, name).tolist() for name in DYNAMIC}
    out["needs"] = np.round(agents.needs.astype(np.float64), 6).tolist()
    out["plan_source"] = list(agents.plan_source)
    out["tick"] = state.tick
    out["relationships"] = sorted([a, b, round(float(s), 6)] for (a, b), s in state.relationships.items())
    out["facts"] = {k: list(v) for k, v in sorted(state.facts.items())}
    out["known"] = [sorted(s) for s in state.known]
    return out


def load_dynamic(state: WorldState, data: dict) -> None:
    agents = state.agents
    for name in DYNAMIC:
        current = getattr(agents, name)
        setattr(agents, name, np.array(data[name], dtype=current.dtype).reshape(current.shape))
    agents.plan_source = list(data["plan_source"])
    state.tick = int(data["tick"])
    state.relationships = {(int(a), int(b)): float(s) for a, b, s in data["relationships"]}
    state.facts = {k: (v[0], int(v[1])) for k, v in data["facts"].items()}
    state.known = [frozenset(x) for x in data["known"]]


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def state_digest(state: WorldState) -> str:
    return hashlib.sha256(canonical(dynamic_dict(state)).encode()).hexdigest()
