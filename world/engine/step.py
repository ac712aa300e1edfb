"""One tick of the engine, stages 3-7 of DESIGN.md over the in-memory state: scripted events,
decide, resolve (walking, occupancy, opening hours, chat pairing), update needs, emit events,
memories and LLM jobs. The orchestrator claims, drains inputs, persists and broadcasts around it.

This is the fast path: each stage works on numpy arrays over all agents and only drops to Python
per event it emits. `reference.py` states the same rules one agent at a time; the equivalence
test holds the two to the same event-log digest. Random numbers are drawn as fixed-size arrays
(one per agent) from named per-stage streams (rng.py), so both paths read the same numbers."""

from __future__ import annotations

import bisect
from functools import lru_cache

import numpy as np

from . import policy
from .inputs import BOARD_FACT, apply_inputs, board_post_of
from .output import TickOutput
from .rng import stream
from .state import NEED_DECAY_PER_HOUR, NO, WorldState
from .tables import CATSET, SOCIAL, Tables, js, pick, tables_of

GROUP_KINDS = ("office", "workshop", "school", "plaza", "board", "park", "library")
STANDUP_KINDS = GROUP_KINDS[:3]
STANDUP_HOUR = 10
CHAT_COOLDOWN_MINUTES = 60
POST_CHANCE = 0.2
REPLY_CHANCE = 0.1
QUIET_CHANCE = 0.05
MEETING_SIZE = 8
REFUSED_TICKS = 4
CHAT_IMPORTANCE, MEETING_IMPORTANCE = 3, 4
QUIET_IMPORTANCE = 2
ARRIVAL_IMPORTANCE = 2
SEEN = 3  # occupants an arrival notices


class Tick:
    """Context for one tick: the state, the output, the lookups and the clock."""

    def __init__(self, state: WorldState, llm_jobs: bool):
        self.state, self.t = state, state.tick
        self.tables: Tables = tables_of(state)
        self.out = TickOutput(state.tick, self.tables)
        self.hour = state.window.hour_of(self.t)
        self.minute = state.window.minute_of_day(self.t)
        self.day = state.window.day_of(self.t)
        self.llm_jobs = llm_jobs
        self.ids = state.agents.ids.tolist()
        self.names = state.agents.names
        self.loc_names = state.locations.names

    def draw(self, name: str, purpose: str, shape) -> np.ndarray:
        return stream(self.state.seed, name, self.t, purpose).random(shape)

    def aid(self, i) -> int:
        return self.ids[i]

    def lname(self, loc) -> str | None:
        return self.loc_names[loc] if loc != NO else None

    def aname(self, act) -> str | None:
        return self.state.activities.names[act] if act != NO else None

    def emit(self, kind: str, agent: int, loc: int = NO, act: int = NO, data=None, data_js: str = "{}"):
        """Append an event row (data_js must be canonical(data); data None means {})."""
        self.out.rows.append((kind, agent, loc, act, data, data_js))

    def remember(self, i, kind, text, importance, fact_key=None, fact_text=None, about=None, evidence=()):
        self.out.remember(self.ids[i], kind, text, importance, fact_key, fact_text, about, evidence)
        self.state.agents.reflect_acc[i] += int(importance)

    def job(self, kind, i, **context):
        if self.llm_jobs:
            job_id = f"{self.state.world_id}-{self.t}-{len(self.out.jobs)}"
            context.update(name=self.names[i], day=self.day, hour=self.hour)
            self.out.jobs.append(
                {"kind": kind, "agent_id": self.aid(i), "job_id": job_id, "context": context}
            )


def engine_step(state: WorldState, inputs: list[dict] = (), llm_jobs: bool = True) -> TickOutput:
    tick = Tick(state, llm_jobs)
    before = state.agents.inside.copy()
    if state.window.is_day_start(tick.t):
        start_day(tick)
    apply_inputs(tick, inputs)
    run_scripted(tick)
    close_venues(tick)
    decide(tick)
    walk(tick)
    converse(tick)
    update_needs(tick)
    reflect(tick)
    invite_posts(tick)
    invite_replies(tick)
    state.tick += 1
    out = tick.out
    out.moved = np.flatnonzero(before != state.agents.inside).tolist()
    if state.window.is_day_start(out.tick):
        out.moved = list(range(len(state.agents)))
    return out


def start_day(tick: Tick) -> None:
    """Overnight everyone slept at home; today's agenda is the rule-based one until a plan from
    the model arrives as an input."""
    state, agents = tick.state, tick.state.agents
    agents.inside[:] = agents.home
    agents.target[:] = agents.home
    agents.pos[:] = state.locations.anchor[agents.home]
    agents.activity[:] = NO
    agents.intent[:] = NO
    agents.busy_until[:] = tick.t
    agents.blocked[:] = NO
    agents.needs[:, 0] = 1.0
    agents.needs[:, 1] = np.maximum(agents.needs[:, 1] - 0.3, 0.2)
    u = tick.draw("policy", "agenda", (4, len(agents), 24))
    agents.plan_act[:], agents.plan_loc[:] = policy.build_agendas(state, tick.tables, u)
    agents.plan_source = ["rule"] * len(agents)
    tick.out.plan_agents.update(range(len(agents)))
    if tick.llm_jobs:
        for i in range(len(agents)):
            tick.job(
                "plan",
                i,
                activities=state.activities.names,
                places=state.locations.names,
                default_plan=plan_items(state, i),
                job=agents.jobs[i],
                home=state.locations.names[agents.home[i]],
            )
    tick.out.event("day.start", day=tick.day, agents=len(agents))


def plan_items(state: WorldState, i: int) -> list[dict]:
    w, agents = state.window, state.agents
    return [
        {
            "hour": h,
            "activity": state.activities.names[agents.plan_act[i, h]],
            "place": state.locations.names[agents.plan_loc[i, h]],
        }
        for h in range(w.start_hour, w.end_hour)
        if agents.plan_act[i, h] != NO
    ]


def active_gatherings(tick: Tick) -> dict[int, dict]:
    out = {}
    for event in tick.state.options.get("scripted", ()):
        if event.get("day") not in (None, tick.day):
            continue
        start = event["minute"]
        if start <= tick.minute < start + event["duration_minutes"]:
            out[event["location"]] = event
    return out


def run_scripted(tick: Tick) -> None:
    """Scripted events due in this tick: participants get the gathering into their plan."""
    state, agents = tick.state, tick.state.agents
    scripted = state.options.get("scripted", ())
    if not scripted:
        return
    tick_minutes = state.window.tick_minutes
    u = tick.draw("policy", "scripted", len(scripted))
    for n, event in enumerate(scripted):
        if event.get("day") not in (None, tick.day):
            continue
        if not (tick.minute <= event["minute"] < tick.minute + tick_minutes):
            continue
        loc = event["location"]
        hours = range(
            event["minute"] // 60, min(24, (event["minute"] + event["duration_minutes"] - 1) // 60 + 1)
        )
        act = int(pick(tick.tables, loc, CATSET[SOCIAL], None, u[n])[0])
        for i in event["participants"]:
            for h in hours:
                agents.plan_loc[i, h], agents.plan_act[i, h] = loc, act
            tick.out.plan_agents.add(i)
            if agents.inside[i] != loc:
                agents.busy_until[i] = tick.t
            tick.remember(i, "observation", f"Planned to join: {event['description']}", 6)
        tick.out.event(
            "scripted",
            location=tick.lname(loc),
            event_kind=event["kind"],
            description=event["description"],
            participants=[agents.names[i] for i in event["participants"]],
            index=n,
        )


def close_venues(tick: Tick) -> None:
    """Agents inside a venue at closing time stop what they were doing and move on."""
    agents, locs = tick.state.agents, tick.state.locations
    open_now = locs.is_open(tick.hour)
    inside = agents.inside
    closing = np.flatnonzero((inside >= 0) & ~open_now[np.maximum(inside, 0)] & (agents.busy_until > tick.t))
    agents.busy_until[closing] = tick.t
    tick.out.rows += [
        ("venue.closing", i, loc, NO, None, "{}")
        for i, loc in zip(closing.tolist(), inside[closing].tolist())
    ]


def start_activities(tick: Tick, who: np.ndarray, act: np.ndarray, u: np.ndarray) -> tuple:
    """Agents in `who` start `act` where they are (anything the place offers when it does not
    offer that). Returns (activities, is_work, tasks_done) for the events."""
    agents, tables = tick.state.agents, tick.tables
    loc = agents.inside[who]
    act = act.copy()
    bad = ~policy.offers(tables, loc, act)
    if bad.any():
        act[bad] = pick(tables, loc[bad], CATSET[()], who[bad], u[who[bad]])
    agents.activity[who] = act
    agents.intent[who] = NO
    agents.busy_until[who] = tick.t + tables.duration_ticks[act]
    work = tables.is_work[act]
    agents.tasks_done[who[work]] += 1
    return act.tolist(), work.tolist(), agents.tasks_done[who].tolist()


def task_row(tick: Tick, i: int, loc: int, act: int, done: int) -> tuple:
    """The task.update event row of an agent starting work."""
    data = {"task": f"{tick.state.agents.jobs[i] or 'work'} task", "done": done}
    return ("task.update", i, loc, act, data, f'{{"done":{done},"task":{tick.tables.task_js[i]}}}')


def decide(tick: Tick) -> None:
    agents, loc_js = tick.state.agents, tick.tables.loc_js
    free = np.flatnonzero((agents.busy_until <= tick.t) & (agents.target == agents.inside))
    if not len(free):
        return
    u = tick.draw("policy", "decide", (5, len(agents)))
    act, loc = policy.choose(tick.state, tick.tables, free, tick.t, u)
    origin = agents.inside[free]
    stay = loc == origin
    movers = free[~stay]
    agents.target[movers], agents.intent[movers], agents.activity[movers] = loc[~stay], act[~stay], NO
    starters = free[stay]
    started = iter(zip(*start_activities(tick, starters, act[stay], u[4]), strict=True))
    add, loc_name = tick.out.rows.append, tick.tables.loc_name
    for i, o, p, a, s in zip(
        free.tolist(), origin.tolist(), loc.tolist(), act.tolist(), stay.tolist(), strict=True
    ):
        if s:
            a, work, done = next(started)
            add(("activity.start", i, p, a, None, "{}"))
            if work:
                add(task_row(tick, i, p, a, done))
        else:
            add(("move.start", i, p, a, {"origin": loc_name[o]}, f'{{"origin":{loc_js[o]}}}'))


def walk(tick: Tick) -> None:
    """Walk at speed along shortest paths, then admit arrivals while capacity and hours allow."""
    state, agents, locs = tick.state, tick.state.agents, tick.state.locations
    walking = np.flatnonzero((agents.target != agents.inside) & (agents.target >= 0))
    if not len(walking):
        return
    agents.inside[walking] = NO
    goals = locs.anchor[agents.target[walking]]
    steps = walk_steps(agents.speed[walking], state.window, tick.t)
    agents.pos[walking] = state.grid.walk(agents.pos[walking], goals, steps)
    arrived = walking[(agents.pos[walking] == goals).all(axis=1)]
    u = tick.draw("policy", "admit", (2, len(agents)))
    admit(tick, arrived[np.lexsort((arrived, u[0, arrived]))], u[1])


EPS = 1e-9  # so 0.1 * 30 * 10 counts as the 30 tiles it is, not 29.999...


def walk_steps(speed: np.ndarray, window, t: int) -> np.ndarray:
    """Tiles each walker may take in tick `t`: the whole tiles its speed covers in a tick; a
    walker slower than one tile per tick takes a tile in the ticks where the whole tiles its speed
    has covered since the day began go up (0.75 per tick walks 0, 1, 1, 1, 0, 1, ...), so nobody
    outpaces its speed and no per-agent carry needs storing."""
    per_tick = speed * window.tick_minutes
    k = t % window.ticks_per_day
    slow = np.floor(per_tick * (k + 1) + EPS) - np.floor(per_tick * k + EPS)
    return np.where(per_tick >= 1, np.floor(per_tick + EPS), slow).astype(np.int32)


def admit(tick: Tick, arrived: np.ndarray, u_start: np.ndarray) -> None:
    """Arrivals, in their drawn order, enter while the place is open and has room."""
    if not len(arrived):
        return
    agents, locs = tick.state.agents, tick.state.locations
    inside = agents.inside
    occupancy = np.bincount(inside[inside >= 0], minlength=len(locs.names))
    place = agents.target[arrived]
    is_open = locs.is_open(tick.hour)[place]
    by_place = np.argsort(place, kind="stable")
    sorted_place = place[by_place]
    first = np.searchsorted(sorted_place, sorted_place, side="left")
    rank = np.empty(len(arrived), np.int64)
    rank[by_place] = np.arange(len(arrived)) - first
    admitted = is_open & (occupancy[place] + rank < locs.capacity[place])
    # Each arrival sees the three lowest-numbered agents already there (earlier arrivals count).
    present = _first_occupants(inside, np.unique(place[admitted]), len(locs.names), SEEN)
    ins = arrived[admitted]
    inside[ins] = place[admitted]
    agents.reflect_acc[ins] += ARRIVAL_IMPORTANCE  # the arrival memories below
    started = iter(zip(*start_activities(tick, ins, agents.intent[ins], u_start), strict=True))
    out = arrived[~admitted]
    agents.blocked[out], agents.blocked_until[out] = place[~admitted], tick.t + REFUSED_TICKS
    agents.target[out] = NO
    names, ids, loc_names = tick.names, tick.ids, tick.loc_names
    add, memory = tick.out.rows.append, tick.out.memory_rows.append
    for i, loc, ok, opened in zip(
        arrived.tolist(), place.tolist(), admitted.tolist(), is_open.tolist(), strict=True
    ):
        if not ok:
            reason = "full" if opened else "closed"
            add(("refused", i, loc, NO, {"reason": reason}, f'{{"reason":"{reason}"}}'))
            continue
        seen = present[loc]
        seen_text = f"; saw {', '.join([names[j] for j in seen])}" if seen else ""
        bisect.insort(seen, i)
        del seen[SEEN:]
        add(("arrive", i, loc, NO, None, "{}"))
        text = f"Arrived at {loc_names[loc]}{seen_text}."
        memory((ids[i], "observation", text, ARRIVAL_IMPORTANCE, None, None, None, ()))
        a, work, done = next(started)
        add(("activity.start", i, loc, a, None, "{}"))
        if work:
            add(task_row(tick, i, loc, a, done))


def _first_occupants(inside: np.ndarray, places: np.ndarray, n_places: int, k: int) -> dict[int, list[int]]:
    """The (up to) k lowest-numbered agents inside each of `places`."""
    present = {p: [] for p in places.tolist()}
    if not present:
        return present
    wanted = np.zeros(n_places + 1, bool)  # the extra slot is read by NO (walking)
    wanted[places] = True
    there = np.flatnonzero(wanted[inside])
    where = inside[there]
    order = np.argsort(where, kind="stable")
    there, where = there[order], where[order]
    keep = np.arange(len(where)) - np.searchsorted(where, where) < k
    for i, p in zip(there[keep].tolist(), where[keep].tolist(), strict=True):
        present[p].append(i)
    return present


def converse(tick: Tick) -> None:
    """Pair agents who are together into duo chats and groups into meetings, honouring cooldowns
    and the concurrent-chat cap. Within a place, members line up by a drawn key; a group of three
    or more at a gathering or a morning stand-up meets, otherwise neighbours in line pair off and
    each pair talks with a chance that grows with familiarity."""
    state, agents, tables = tick.state, tick.state.agents, tick.tables
    eligible = (agents.inside >= 0) & (agents.chat_until <= tick.t) & tables.chatty[agents.activity]
    idx = np.flatnonzero(eligible)
    if len(idx) < 2:
        return
    u = tick.draw("events", "converse", (4, len(agents)))
    order = idx[np.lexsort((idx, u[0, idx], agents.inside[idx]))]
    places = agents.inside[order]
    bounds = (np.flatnonzero(np.diff(places)) + 1).tolist()
    places, order = places.tolist(), order.tolist()
    gatherings = active_gatherings(tick)
    cap = state.max_concurrent_chats or 1 << 30
    started = 0
    meeting_rng = None
    kinds = state.locations.kinds
    u_pair, u_roll, u_size = u[1].tolist(), u[2].tolist(), u[3].tolist()
    relationships = state.relationships
    talked: list[tuple[list[int], bool]] = []
    for start, end in zip([0, *bounds], [*bounds, len(order)], strict=True):
        if end - start < 2 or started >= cap:
            continue
        loc = places[start]
        members = order[start:end]
        if len(members) >= 3 and (
            loc in gatherings or (kinds[loc] in STANDUP_KINDS and tick.hour == STANDUP_HOUR)
        ):
            meeting_rng = meeting_rng or stream(state.seed, "events", tick.t, "meeting")
            hold_chat(tick, members[:MEETING_SIZE], loc, "meeting", meeting_rng)
            talked.append((members[:MEETING_SIZE], True))
            started += 1
            continue
        for a, b in zip(members[::2], members[1::2], strict=False):
            if started >= cap:
                break
            familiarity = max(0.0, relationships.get((a, b), 0.0)) / 100
            if u_pair[a] < 0.35 + 0.4 * familiarity:
                hold_chat(tick, [a, b], loc, "chat", (u_roll[a], u_size[a]))
                talked.append(([a, b], False))
                started += 1
    # Each agent talks at most once a tick, so the needs (and the reflection tally of the chat
    # memories) can move after all chats are held.
    for meeting in (False, True):
        who = [m for members, kind in talked if kind == meeting for m in members]
        agents.needs[who, 2] = np.minimum(1.0, agents.needs[who, 2] + (0.35 if meeting else 0.3))
        agents.needs[who, 3] = np.minimum(1.0, agents.needs[who, 3] + 0.05)
        agents.chat_until[who] = tick.t + state.window.ticks_for(CHAT_COOLDOWN_MINUTES)
        agents.reflect_acc[who] += MEETING_IMPORTANCE if meeting else CHAT_IMPORTANCE


@lru_cache(maxsize=4096)
def topic_js(topic: str) -> str:
    return js(topic)


def topic_of(tables: Tables, members: list[int]) -> str:
    shared = frozenset.intersection(*(tables.interest_sets[i] for i in members))
    return min(shared) if shared else tables.top_interest[members[0]]


def share_facts(tick: Tick, members: list[int]) -> list[str]:
    """Each speaker passes on the most important thing it knows that a listener does not."""
    state, shared = tick.state, []
    for speaker in members:
        listeners = [m for m in members if m != speaker]
        news = set().union(*(state.known[speaker] - state.known[m] for m in listeners))
        if not news:
            continue
        key = min(news, key=lambda k: (-state.facts[k][1], k))
        text, importance = state.facts[key]
        for m in listeners:
            if key not in state.known[m]:
                state.known[m] = state.known[m] | {key}
                tick.remember(
                    m,
                    "conversation",
                    f"{state.agents.names[speaker]} told me: {text}",
                    max(1, importance - 1),
                    fact_key=key,
                    fact_text=text,
                    about=tick.aid(speaker),
                )
        shared.append(key)
    return shared


def relationship_delta(interests: list[dict], a: int, b: int, roll: float, size: float) -> float:
    """A chat mostly warms a relationship (more with shared interests), sometimes sours it."""
    if roll < 0.07:
        return -round(3.0 + 2.0 * size, 4)
    overlap = sum(min(w, interests[b].get(k, 0.0)) for k, w in interests[a].items())
    return round(1.0 + 3.0 * min(overlap, 1.0) + size, 4)


def hold_chat(tick: Tick, members: list[int], loc: int, kind: str, rolls) -> None:
    """One chat or meeting: facts spread, relationships move, everyone remembers it. `rolls` is
    (roll, size) for a duo, or a generator for a meeting, which draws (roll, size) for each pair
    in turn. The caller moves the needs, the cooldown and the reflection tally."""
    state, agents, tables = tick.state, tick.state.agents, tick.tables
    topic = topic_of(tables, members)
    facts = share_facts(tick, members) if state.facts else []
    deltas = {}
    for a in members:
        for b in members:
            if a < b:
                roll, size = rolls if isinstance(rolls, tuple) else rolls.random(2).tolist()
                deltas[(a, b)] = relationship_delta(agents.interests, a, b, roll, size)
    relationships, pairs = state.relationships, tick.out.relationship_pairs
    for (a, b), delta in deltas.items():
        for pair in ((a, b), (b, a)):
            score = round(relationships.get(pair, 0.0) + delta, 4)
            relationships[pair] = 100.0 if score > 100.0 else -100.0 if score < -100.0 else score
            pairs.add(pair)
    names = [tick.names[m] for m in members]
    place = tick.loc_names[loc]
    importance = MEETING_IMPORTANCE if kind == "meeting" else CHAT_IMPORTANCE
    ids = [tick.ids[m] for m in members]
    memory = tick.out.memory_rows.append
    for agent_id, name in zip(ids, names, strict=True):
        others = ", ".join([n for n in names if n != name])
        text = f"Talked with {others} at {place} about {topic}."
        memory((agent_id, "conversation", text, importance, None, None, None, ()))
    short_id = f"{tick.t}-{len(tick.out.conversations)}"
    tick.out.conversations.append(
        {
            "chat_id": f"{state.world_id}-{short_id}",
            "kind": kind,
            "participants": ids,
            "location": place,
            "topic": topic,
            "tick": tick.t,
            "facts": facts,
        }
    )
    # (Each delta is already rounded to 4 places: relationship_delta.)
    rounded = [[tick.names[a], tick.names[b], d] for (a, b), d in deltas.items()]
    data = {"chat": short_id, "participants": names, "topic": topic, "facts": facts, "deltas": rounded}
    name_js = tables.name_js
    delta_js = ",".join([f"[{name_js[a]},{name_js[b]},{d!r}]" for (a, b), d in deltas.items()])
    data_js = (
        f'{{"chat":"{short_id}","deltas":[{delta_js}],"facts":[{",".join([js(f) for f in facts])}],'
        f'"participants":[{",".join([name_js[m] for m in members])}],"topic":{topic_js(topic)}}}'
    )
    tick.emit(kind, members[0], loc, NO, data, data_js)
    if tick.llm_jobs:
        for m in members[:3]:
            tick.job(
                "utterance",
                m,
                chat=short_id,
                listeners=[i for i in ids if i != tick.aid(m)],
                place=place,
                topic=topic,
                partners=[n for n in names if n != agents.names[m]],
                relationship=round(
                    np.mean([state.relationships.get((m, o), 0.0) for o in members if o != m]), 2
                ),
            )


def update_needs(tick: Tick) -> None:
    state, agents = tick.state, tick.state.agents
    hours = state.window.tick_minutes / 60
    needs = agents.needs - NEED_DECAY_PER_HOUR * hours
    busy = (agents.inside >= 0) & (agents.activity >= 0)
    needs[busy] += state.activities.effects[agents.activity[busy]] * hours
    walking = agents.inside < 0
    needs[walking, 0] -= 0.02 * hours
    agents.needs = np.clip(needs, 0.0, 1.0).astype(np.float32)


def reflect(tick: Tick) -> None:
    """A reflection when recent importance piles up, and solo reflections on quiet activities."""
    state, agents, tables = tick.state, tick.state.agents, tick.tables
    heavy = np.flatnonzero(agents.reflect_acc >= state.reflect_threshold).tolist()
    if heavy:
        wanted = {tick.aid(i) for i in heavy}
        recent: dict[int, list[str]] = {}
        for agent_id, _, text, *_ in tick.out.memory_rows:
            if agent_id in wanted:
                recent.setdefault(agent_id, []).append(text)
        for i in heavy:
            loc = int(agents.inside[i])
            tick.emit("reflect", i, loc)
            tick.remember(i, "reflection", f"Lately I keep thinking about {topic_of(tables, [i])}.", 6)
            agents.reflect_acc[i] = 0
            tick.job("reflection", i, recent=recent.get(tick.aid(i), [])[-3:], place=tick.lname(loc))
    u = tick.draw("events", "reflect", len(agents))
    quiet = (agents.inside >= 0) & (agents.busy_until > tick.t) & tables.quiet[agents.activity]
    solo = np.flatnonzero(quiet & (agents.activity >= 0) & (u < QUIET_CHANCE))
    agents.reflect_acc[solo] += QUIET_IMPORTANCE
    add, memory, ids, loc_names = tick.out.rows.append, tick.out.memory_rows.append, tick.ids, tick.loc_names
    for i, loc, act in zip(
        solo.tolist(), agents.inside[solo].tolist(), agents.activity[solo].tolist(), strict=True
    ):
        add(("reflect.solo", i, loc, act, None, "{}"))
        text = f"Took a quiet moment at {loc_names[loc]}."
        memory((ids[i], "reflection", text, QUIET_IMPORTANCE, None, None, None, ()))


def invite_posts(tick: Tick) -> None:
    """Once a day, mid-morning, some agents decide to write on the town board."""
    state = tick.state
    post_minute = (state.window.start_hour + 2) * 60
    if not tick.minute <= post_minute < tick.minute + state.window.tick_minutes:
        return
    for i in np.flatnonzero(tick.draw("events", "posts", len(state.agents)) < POST_CHANCE).tolist():
        tick.emit("board.intent", i)
        tick.job("board_post", i, topic=topic_of(tick.tables, [i]), job=state.agents.jobs[i])


def board_posts_of_day(state: WorldState, day: int) -> list[tuple[str, str, str, str]]:
    """(fact key, ref, author's name, title) of the board posts that went up on `day`, in the
    order they were written."""
    prefix = f"{BOARD_FACT}{day}:"
    posts = [(key, *board_post_of(state, key)) for key in state.facts if key.startswith(prefix)]
    return sorted(posts, key=lambda post: tuple(int(n) for n in post[1].split("-")))


def invite_replies(tick: Tick) -> None:
    """Once a day, an hour in, agents answer yesterday's board posts by others: an agent at a
    board reads them all and answers one; anyone else, with a small chance, answers one it heard
    about. The day's draw picks which, so an agent answers a post at most once."""
    state, agents = tick.state, tick.state.agents
    reply_minute = (state.window.start_hour + 1) * 60
    if not tick.minute <= reply_minute < tick.minute + state.window.tick_minutes:
        return
    posts = board_posts_of_day(state, tick.day - 1)
    if not posts:
        return
    u = tick.draw("events", "replies", (2, len(agents)))
    is_board = np.array([kind == "board" for kind in state.locations.kinds] + [False])
    at_board = is_board[agents.inside]  # NO (-1), walking, reads the trailing False
    for i in np.flatnonzero(at_board | (u[0] < REPLY_CHANCE)).tolist():
        me, known = tick.names[i], state.known[i]
        options = [p for p in posts if p[2] != me and (at_board[i] or p[0] in known)]
        if not options:
            continue
        _, ref, author, title = options[int(u[1, i] * len(options))]
        tick.out.event("board.reply_intent", i, post=ref)
        tick.job("board_reply", i, post_ref=ref, post=title, post_author=author, topic=title)
