"""Lookup tables derived from the static part of a WorldState (places, activities, personas),
built once per state and shared by every tick: which activities each place offers per category
set, each agent's preference weights over activities, its leisure places, and the JSON spelling
of every name (events are rendered straight to their canonical lines)."""

from __future__ import annotations

import json

import numpy as np

from .state import NO, WorldState

FOOD_KINDS = ("cafe", "restaurant", "market")
SOCIAL_KINDS = ("park", "plaza", "cafe", "board", "gym", "library")
CHATTY = ("social", "food", "leisure", "wellness")
QUIET = ("wellness", "rest")

# The category sets the policy asks for; () means "anything the place offers".
ANY = ()
REST = ("rest",)
FOOD = ("food",)
WORK = ("work",)
SOCIAL = ("social",)
REST_LEISURE = ("rest", "leisure")
REST_LEISURE_FOOD = ("rest", "leisure", "food")
FOOD_SOCIAL = ("food", "social")
OUTING = ("social", "leisure", "wellness")
CATSETS = (ANY, REST, FOOD, WORK, SOCIAL, REST_LEISURE, REST_LEISURE_FOOD, FOOD_SOCIAL, OUTING)
CATSET = {cats: n for n, cats in enumerate(CATSETS)}


def js(value) -> str:
    return json.dumps(value, ensure_ascii=True)


def places_of(state: WorldState, kinds: tuple[str, ...]) -> list[int]:
    return [i for i, kind in enumerate(state.locations.kinds) if kind in kinds]


def interest_weight(interests: dict[str, float], activity_name: str) -> float:
    """1 plus the weights of the agent's interests named in the activity."""
    name = activity_name.lower()
    return 1.0 + sum(w for word, w in interests.items() if word.lower() in name)


def preference_weights(interests: list[dict[str, float]], names: list[str]) -> np.ndarray:
    """interest_weight for every (agent, activity), summed in the same order as the scalar one."""
    words = sorted({word for agent in interests for word in agent})
    column = {word: n for n, word in enumerate(words)}
    match = np.array([[w.lower() in name.lower() for name in names] for w in words], bool).reshape(-1, len(names))
    width = max([len(agent) for agent in interests] + [0])
    word = np.zeros((len(interests), width), np.int64)
    weight = np.zeros((len(interests), width), np.float64)
    for i, agent in enumerate(interests):
        for p, (w, v) in enumerate(agent.items()):
            word[i, p], weight[i, p] = column[w], v
    total = np.zeros((len(interests), len(names)), np.float64)
    for p in range(width):
        total += np.where(match[word[:, p]], weight[:, p : p + 1], 0.0)
    return 1.0 + total


def interest_places(state: WorldState, interests: dict[str, float]) -> list[int]:
    """Venues whose activities match the agent's three strongest interests, in that order."""
    ranked = sorted(interests.items(), key=lambda kv: (-kv[1], kv[0]))
    places = []
    for word, _ in ranked[:3]:
        for a, name in enumerate(state.activities.names):
            if word.lower() in name.lower() or word.lower() == state.activities.categories[a]:
                places += [
                    p
                    for p in places_of(state, tuple(state.activities.allowed[a]))
                    if state.locations.kinds[p] != "home"
                ]
    return list(dict.fromkeys(places))


def top_interest(interests: dict[str, float]) -> str:
    best = max(interests.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    return best[0] if best else "the day"


class Tables:
    def __init__(self, state: WorldState):
        locs, acts, agents = state.locations, state.activities, state.agents
        n_loc, n_act = len(locs.names), len(acts.names)
        self.allowed = np.array(
            [[locs.kinds[p] in acts.allowed[a] for a in range(n_act)] for p in range(n_loc)], bool
        ).reshape(n_loc, n_act)
        # option[catset, place]: the activities pick() chooses among (falls back to ANY).
        self.option = np.zeros((len(CATSETS), n_loc, n_act), bool)
        for c, cats in enumerate(CATSETS):
            in_cats = np.array([not cats or cat in cats for cat in acts.categories], bool)
            mask = self.allowed & in_cats
            empty = ~mask.any(axis=1)
            mask[empty] = self.allowed[empty]
            self.option[c] = mask
        self.weights = preference_weights(agents.interests, acts.names)
        # Indexed by activity, with one extra slot at the end for NO (-1).
        self.duration_ticks = np.array(
            [state.window.ticks_for(int(d)) for d in acts.duration] + [state.window.ticks_for(60)], np.int32
        )
        self.is_food = np.array([c == "food" for c in acts.categories] + [False])
        self.is_work = np.array([c == "work" for c in acts.categories] + [False])
        self.chatty = np.array([c in CHATTY for c in acts.categories] + [True])
        self.quiet = np.array([c in QUIET for c in acts.categories] + [False])
        self.food = np.array(places_of(state, FOOD_KINDS), np.int32)
        self.eateries = np.array(places_of(state, FOOD_KINDS + ("home",)), np.int32)
        self._leisure(state)
        self.interest_sets = [frozenset(i) for i in agents.interests]
        self.top_interest = [top_interest(i) for i in agents.interests]
        self.loc_name = [*locs.names, None]
        self.act_name = [*acts.names, None]
        self.loc_js = [js(n) for n in locs.names] + ["null"]
        self.act_js = [js(n) for n in acts.names] + ["null"]
        self.name_js = [js(n) for n in agents.names]
        self.task_js = [js(f"{job or 'work'} task") for job in agents.jobs]

    def _leisure(self, state: WorldState) -> None:
        """Per agent, its leisure places as a row of a padded table (agents share rows)."""
        social = places_of(state, SOCIAL_KINDS)
        rows: dict[tuple[int, ...], int] = {}
        self.leisure_row = np.zeros(len(state.agents), np.int32)
        cache: dict[tuple, int] = {}
        for i, interests in enumerate(state.agents.interests):
            key = tuple(word for word, _ in sorted(interests.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
            if key not in cache:
                places = tuple(interest_places(state, interests) or social)
                cache[key] = rows.setdefault(places, len(rows))
            self.leisure_row[i] = cache[key]
        width = max([len(p) for p in rows] + [1])
        self.leisure_places = np.full((max(1, len(rows)), width), NO, np.int32)
        self.leisure_count = np.zeros(max(1, len(rows)), np.int32)
        for places, row in rows.items():
            self.leisure_places[row, : len(places)] = places
            self.leisure_count[row] = len(places)


def tables_of(state: WorldState) -> Tables:
    key = (id(state.agents.interests), id(state.locations), id(state.activities), len(state.agents))
    cached = state.derived.get("tables")
    if cached is None or cached[0] != key:
        cached = state.derived["tables"] = (key, Tables(state))
    return cached[1]


def pick(tables: Tables, places, catset: int | np.ndarray, agents, u) -> np.ndarray:
    """For each (place, agent, uniform u): an activity the place offers in the category set,
    drawn with the agent's preference weights (NO when the place offers none; agents=None means
    no preference). Inverse-CDF sampling on the cumulative weights, row by row, so one row gives
    the same answer alone or in a batch."""
    places = np.atleast_1d(np.asarray(places))
    mask = tables.option[catset, places]
    prefer = 1.0 if agents is None else tables.weights[np.atleast_1d(agents)]
    weights = np.where(mask, prefer, 0.0)
    cdf = np.cumsum(weights, axis=1)
    total = cdf[:, -1]
    index = (cdf <= (np.atleast_1d(u) * total)[:, None]).sum(axis=1)
    last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
    return np.where(total > 0, np.minimum(index, last), NO).astype(np.int32)
