"""The deterministic rule-based policy, vectorized over agents: a daily agenda per agent from
persona, job and opening hours, and the choice of what a free agent does next. Randomness comes
only from uniform arrays the caller draws from the seeded `policy` stream, one number per agent
(and hour) per decision, so the result does not depend on the order agents are visited in.
`reference.py` states the same rules one agent at a time."""

from __future__ import annotations

import numpy as np

from .state import NO, WorldState
from .tables import (
    ANY,
    CATSET,
    FOOD,
    FOOD_SOCIAL,
    OUTING,
    REST,
    REST_LEISURE,
    REST_LEISURE_FOOD,
    WORK,
    Tables,
    pick,
)

HUNGRY, TIRED = 0.25, 0.15
LEISURE_CHANCE = 0.8
LUNCH_HOUR = 12
NEAREST_CHUNK = 4096


def build_agendas(state: WorldState, tables: Tables, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hour-by-hour (activity, location) for every agent for today: home, work, lunch, interests,
    home again. `u` is (4, agents, 24): food pick, leisure coin, leisure pick, activity pick."""
    w, agents, locs = state.window, state.agents, state.locations
    k = len(agents)
    hours = np.arange(w.start_hour, w.end_hour)
    plan_act = np.full((k, 24), NO, np.int32)
    plan_loc = np.repeat(agents.home[:, None], 24, axis=1).astype(np.int32)
    if not k or not len(hours):
        return plan_act, plan_loc
    u_food, u_coin, u_leisure, u_act = (u[n][:, hours] for n in range(4))
    home = np.broadcast_to(agents.home[:, None], (k, len(hours)))
    loc = home.copy()
    cats = np.full(loc.shape, CATSET[REST_LEISURE_FOOD])
    last = np.broadcast_to(hours == w.end_hour - 1, loc.shape)
    lunch = ~last & (hours == LUNCH_HOUR) & (len(tables.food) > 0)
    if len(tables.food):
        loc = np.where(lunch, tables.food[(u_food * len(tables.food)).astype(np.int64)], loc)
    cats = np.where(lunch, CATSET[FOOD_SOCIAL], cats)
    start, end = agents.work_hours[:, 0:1], agents.work_hours[:, 1:2]
    working = ~last & ~lunch & (agents.work[:, None] != NO) & (start <= hours) & (hours < end)
    loc = np.where(working, agents.work[:, None], loc)
    cats = np.where(working, CATSET[WORK], cats)
    row = tables.leisure_row[:, None]
    count = tables.leisure_count[row]
    out = ~last & ~lunch & ~working & (hours > w.start_hour) & (count > 0) & (u_coin < LEISURE_CHANCE)
    leisure = tables.leisure_places[row, (u_leisure * count).astype(np.int64)]
    loc = np.where(out, leisure, loc)
    cats = np.where(out, CATSET[OUTING], cats)
    closed = ~((locs.open_hour[loc] <= hours) & (hours < locs.close_hour[loc]))
    loc = np.where(closed, home, loc)
    cats = np.where(closed | last, CATSET[REST_LEISURE], cats)
    who = np.broadcast_to(np.arange(k)[:, None], loc.shape)
    plan_loc[:, hours] = loc
    plan_act[:, hours] = pick(tables, loc.ravel(), cats.ravel(), who.ravel(), u_act.ravel()).reshape(loc.shape)
    return plan_act, plan_loc


def nearest_open(state: WorldState, tables: Tables, who: np.ndarray, hour: int) -> np.ndarray:
    """For each agent, the nearest (Manhattan, first in place order on ties) open place to eat."""
    candidates = tables.eateries[state.locations.is_open(hour)[tables.eateries]]
    out = np.full(len(who), NO, np.int32)
    if not len(candidates):
        return out
    anchors = state.locations.anchor[candidates]
    for start in range(0, len(who), NEAREST_CHUNK):
        pos = state.agents.pos[who[start : start + NEAREST_CHUNK]]
        dist = np.abs(anchors[None, :, 0] - pos[:, None, 0]) + np.abs(anchors[None, :, 1] - pos[:, None, 1])
        out[start : start + NEAREST_CHUNK] = candidates[np.argmin(dist, axis=1)]
    return out


def choose(state: WorldState, tables: Tables, free: np.ndarray, tick: int, u: np.ndarray):
    """What each free agent should do now: (activity, location) arrays. `u` is (4, agents):
    rest pick, food pick, fallback-home pick, fallback-any pick."""
    agents, locs = state.agents, state.locations
    hour = state.window.hour_of(tick)
    act = agents.plan_act[free, hour].copy()
    loc = agents.plan_loc[free, hour].copy()
    home = agents.home[free]
    energy, hunger = agents.needs[free, 0], agents.needs[free, 1]
    tired = energy < TIRED
    if tired.any():
        loc[tired] = home[tired]
        act[tired] = pick(tables, home[tired], CATSET[REST], free[tired], u[0, free[tired]])
    hungry = ~tired & (hunger < HUNGRY) & ~tables.is_food[act]
    if hungry.any():
        place = nearest_open(state, tables, free[hungry], hour)
        where = np.flatnonzero(hungry)[place != NO]
        place = place[place != NO]
        loc[where] = place
        act[where] = pick(tables, place, CATSET[FOOD], free[where], u[1, free[where]])
    refused = (agents.blocked[free] == loc) & (agents.blocked_until[free] > tick)
    closed = ~((locs.open_hour[loc] <= hour) & (hour < locs.close_hour[loc]))
    back = refused | closed
    if back.any():
        loc[back] = home[back]
        act[back] = pick(tables, home[back], CATSET[REST_LEISURE], free[back], u[2, free[back]])
    bad = ~offers(tables, loc, act)
    if bad.any():
        act[bad] = pick(tables, loc[bad], CATSET[ANY], free[bad], u[3, free[bad]])
    return act, loc


def offers(tables: Tables, loc: np.ndarray, act: np.ndarray) -> np.ndarray:
    """Whether each place offers each activity (False for NO)."""
    return (act != NO) & tables.allowed[loc, np.maximum(act, 0)]
