"""The readable specification of one tick, and the test oracle for the fast path.

`reference_step` applies the same rules as `step.engine_step`, written the straightforward way:
one agent at a time, in index order, with A* (`Grid.astar_step`) for every step of every walk
instead of shared direction fields, plain Python lists instead of masks, and every event rendered
by the generic `canonical` JSON. It is far too slow for a town (seconds per tick at a few hundred
agents) and is never used by the village; `world/tests/test_equivalence.py` runs both over whole
days and requires byte-identical event logs, memories and end states.

Randomness: every stage draws its uniforms as fixed-size arrays from its own named stream
(`Tick.draw`), one number per agent (per hour for the agenda). Agent i always reads element i,
so visiting agents one by one or all at once reads the same numbers. Meetings, which are rare,
draw two numbers per pair in turn from the `events/meeting` stream.

The rules, stage by stage:
- Day start: everyone wakes at home (energy full, a little hungrier) and gets an agenda: for each
  hour of the day window, home by default; lunch at a random eatery at 12:00; work during work
  hours; else, after the first hour, an 80% chance of one of the agent's leisure places (venues
  whose activities match its three strongest interests, or any social venue); the last hour and
  any hour the chosen place is closed at home. Each hour gets an activity the place offers in the
  hour's categories, drawn with the agent's interest weights.
- Scripted events due now put their place into the participants' plans.
- Venues closing now interrupt whoever is busy inside.
- Decide: a free agent (not busy, not walking) follows its plan for the hour, except when tired
  (rest at home), hungry and not about to eat (the nearest open eatery or home), or when the
  place refused it recently or is closed (home). If it is already there it starts the activity;
  otherwise it sets off.
- Walk: everyone walking takes the whole tiles its speed covered this tick (step.walk_steps), each to the
  first neighbour in N, E, S, W order on a shortest path. Arrivals, in drawn order, enter while
  the place is open and below capacity; the rest are refused (full or closed) and blocked from
  that place for 4 ticks.
- Converse: agents inside, not in a chatty cooldown and doing something chatty (or nothing) line
  up per place by drawn key; three or more at a scripted gathering or a 10:00 stand-up at an
  office, workshop or school hold a meeting (first eight); otherwise neighbours in line pair off
  and each pair chats with probability 0.35 + 0.4 * familiarity. Chats pass on news, move
  relationships, lift social needs and start a cooldown.
- Needs decay per hour, activities restore them, walking tires.
- Reflect: agents whose gathered importance crossed the threshold reflect; agents in a quiet
  activity take a quiet moment with 5% chance.
- Mid-morning, 20% of agents decide to write on the board.
- An hour into the day, agents answer one of yesterday's board posts by someone else: every agent
  at a board (it reads them all), and 10% of the others (one of the posts they heard about).
"""

from __future__ import annotations

import math

import numpy as np

from .inputs import BOARD_FACT, apply_inputs, board_post_of
from .rng import stream
from .state import NEED_DECAY_PER_HOUR, NO, WorldState
from .step import (
    CHAT_COOLDOWN_MINUTES,
    MEETING_SIZE,
    POST_CHANCE,
    QUIET_CHANCE,
    REFUSED_TICKS,
    REPLY_CHANCE,
    STANDUP_HOUR,
    STANDUP_KINDS,
    Tick,
    TickOutput,
    active_gatherings,
    plan_items,
    run_scripted,
    share_facts,
)
from .tables import (
    ANY,
    CHATTY,
    FOOD,
    FOOD_KINDS,
    FOOD_SOCIAL,
    OUTING,
    QUIET,
    REST,
    REST_LEISURE,
    REST_LEISURE_FOOD,
    SOCIAL_KINDS,
    WORK,
    interest_places,
    interest_weight,
    places_of,
)

HUNGRY, TIRED = 0.25, 0.15


def reference_step(state: WorldState, inputs: list[dict] = (), llm_jobs: bool = True) -> TickOutput:
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
    out.moved = [i for i in range(len(state.agents)) if before[i] != state.agents.inside[i]]
    if state.window.is_day_start(out.tick):
        out.moved = list(range(len(state.agents)))
    return out


# --- choosing activities ---------------------------------------------------------------------


def offers(state: WorldState, place: int, activity: int) -> bool:
    return activity != NO and state.locations.kinds[place] in state.activities.allowed[activity]


def pick_activity(state: WorldState, place: int, categories: tuple, agent: int | None, u: float) -> int:
    """An activity the place offers in the categories (any it offers when none fits), drawn with
    the agent's interest weights: the first option whose running total of weights passes u times
    the total."""
    acts = state.activities
    offered = [a for a in range(len(acts.names)) if offers(state, place, a)]
    options = [a for a in offered if not categories or acts.categories[a] in categories] or offered
    if not options:
        return NO
    if agent is None:
        weights = [1.0] * len(options)
    else:
        weights = [interest_weight(state.agents.interests[agent], acts.names[a]) for a in options]
    total = 0.0
    for w in weights:
        total += w
    threshold = u * total
    running = 0.0
    for a, w in zip(options, weights, strict=True):
        running += w
        if running > threshold:
            return a
    return options[-1]


def is_open(state: WorldState, place: int, hour: int) -> bool:
    return bool(state.locations.open_hour[place] <= hour < state.locations.close_hour[place])


def agenda(state: WorldState, i: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, agents = state.window, state.agents
    home, work = int(agents.home[i]), int(agents.work[i])
    start, end = agents.work_hours[i]
    plan_act = np.full(24, NO, np.int32)
    plan_loc = np.full(24, home, np.int32)
    food = places_of(state, FOOD_KINDS)
    leisure = interest_places(state, agents.interests[i]) or places_of(state, SOCIAL_KINDS)
    for hour in range(w.start_hour, w.end_hour):
        place, cats = home, REST_LEISURE_FOOD
        if hour == w.end_hour - 1:
            place, cats = home, REST_LEISURE
        elif hour == 12 and food:
            place, cats = food[int(u[0, i, hour] * len(food))], FOOD_SOCIAL
        elif work != NO and start <= hour < end:
            place, cats = work, WORK
        elif hour > w.start_hour and leisure and u[1, i, hour] < 0.8:
            place, cats = leisure[int(u[2, i, hour] * len(leisure))], OUTING
        if not is_open(state, place, hour):
            place, cats = home, REST_LEISURE
        plan_loc[hour] = place
        plan_act[hour] = pick_activity(state, place, cats, i, u[3, i, hour])
    return plan_act, plan_loc


def nearest_eatery(state: WorldState, i: int, hour: int) -> int:
    x, y = state.agents.pos[i]
    best, best_distance = NO, None
    for place in places_of(state, FOOD_KINDS + ("home",)):
        if not is_open(state, place, hour):
            continue
        ax, ay = state.locations.anchor[place]
        distance = abs(int(ax) - int(x)) + abs(int(ay) - int(y))
        if best_distance is None or distance < best_distance:
            best, best_distance = place, distance
    return best


def choose(state: WorldState, i: int, tick: int, u: np.ndarray) -> tuple[int, int]:
    agents, acts = state.agents, state.activities
    hour = state.window.hour_of(tick)
    act, place = int(agents.plan_act[i, hour]), int(agents.plan_loc[i, hour])
    home = int(agents.home[i])
    eating = act != NO and acts.categories[act] == "food"
    if agents.needs[i, 0] < TIRED:
        place = home
        act = pick_activity(state, place, REST, i, u[0, i])
    elif agents.needs[i, 1] < HUNGRY and not eating:
        eatery = nearest_eatery(state, i, hour)
        if eatery != NO:
            place, act = eatery, pick_activity(state, eatery, FOOD, i, u[1, i])
    refused = agents.blocked[i] == place and agents.blocked_until[i] > tick
    if refused or not is_open(state, place, hour):
        place = home
        act = pick_activity(state, place, REST_LEISURE, i, u[2, i])
    if not offers(state, place, act):
        act = pick_activity(state, place, ANY, i, u[3, i])
    return act, place


# --- stages ----------------------------------------------------------------------------------


def start_day(tick: Tick) -> None:
    state, agents = tick.state, tick.state.agents
    u = tick.draw("policy", "agenda", (4, len(agents), 24))
    for i in range(len(agents)):
        home = agents.home[i]
        agents.inside[i] = agents.target[i] = home
        agents.pos[i] = state.locations.anchor[home]
        agents.activity[i] = agents.intent[i] = NO
        agents.busy_until[i] = tick.t
        agents.blocked[i] = NO
        agents.needs[i, 0] = 1.0
        agents.needs[i, 1] = max(agents.needs[i, 1] - np.float32(0.3), np.float32(0.2))
        agents.plan_act[i], agents.plan_loc[i] = agenda(state, i, u)
        agents.plan_source[i] = "rule"
        tick.out.plan_agents.add(i)
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


def close_venues(tick: Tick) -> None:
    state, agents = tick.state, tick.state.agents
    for i in range(len(agents)):
        place = int(agents.inside[i])
        if place != NO and not is_open(state, place, tick.hour) and agents.busy_until[i] > tick.t:
            agents.busy_until[i] = tick.t
            tick.out.event("venue.closing", i, tick.lname(place))


def start_activity(tick: Tick, i: int, act: int, u: float) -> None:
    state, agents = tick.state, tick.state.agents
    place = int(agents.inside[i])
    if not offers(state, place, act):
        act = pick_activity(state, place, ANY, i, u)
    agents.activity[i] = act
    agents.intent[i] = NO
    minutes = int(state.activities.duration[act]) if act != NO else 60
    agents.busy_until[i] = tick.t + state.window.ticks_for(minutes)
    tick.out.event("activity.start", i, tick.lname(place), tick.aname(act))
    if act != NO and state.activities.categories[act] == "work":
        agents.tasks_done[i] += 1
        tick.out.event(
            "task.update",
            i,
            tick.lname(place),
            tick.aname(act),
            task=f"{agents.jobs[i] or 'work'} task",
            done=int(agents.tasks_done[i]),
        )


def decide(tick: Tick) -> None:
    agents = tick.state.agents
    u = tick.draw("policy", "decide", (5, len(agents)))
    for i in range(len(agents)):
        if agents.busy_until[i] > tick.t or agents.target[i] != agents.inside[i]:
            continue
        act, place = choose(tick.state, i, tick.t, u)
        if place == agents.inside[i]:
            start_activity(tick, i, act, u[4, i])
        else:
            origin = tick.lname(agents.inside[i])
            agents.target[i], agents.intent[i], agents.activity[i] = place, act, NO
            tick.out.event("move.start", i, tick.lname(place), tick.aname(act), origin=origin)


def walk(tick: Tick) -> None:
    state, agents = tick.state, tick.state.agents
    arrived = []
    for i in range(len(agents)):
        place = int(agents.target[i])
        if place == NO or place == agents.inside[i]:
            continue
        agents.inside[i] = NO
        goal = tuple(int(v) for v in state.locations.anchor[place])
        here = tuple(int(v) for v in agents.pos[i])
        per_tick = float(agents.speed[i]) * state.window.tick_minutes
        k = state.tick % state.window.ticks_per_day
        if per_tick >= 1:
            budget = math.floor(per_tick + 1e-9)
        else:
            budget = math.floor(per_tick * (k + 1) + 1e-9) - math.floor(per_tick * k + 1e-9)
        for _ in range(budget):
            step = state.grid.astar_step(here, goal)
            if step == here:
                break
            here = step
        agents.pos[i] = here
        if here == goal:
            arrived.append(i)
    if arrived:
        u = tick.draw("policy", "admit", (2, len(agents)))
        admit(tick, sorted(arrived, key=lambda i: (u[0, i], i)), u[1])


def admit(tick: Tick, arrived: list[int], u_start: np.ndarray) -> None:
    state, agents, locs = tick.state, tick.state.agents, tick.state.locations
    occupancy = {}
    for i in range(len(agents)):
        if agents.inside[i] != NO:
            occupancy[int(agents.inside[i])] = occupancy.get(int(agents.inside[i]), 0) + 1
    for i in arrived:
        place = int(agents.target[i])
        if is_open(state, place, tick.hour) and occupancy.get(place, 0) < locs.capacity[place]:
            occupancy[place] = occupancy.get(place, 0) + 1
            agents.inside[i] = place
            here = [j for j in range(len(agents)) if agents.inside[j] == place][:4]
            present = [agents.names[j] for j in here if j != i][:3]
            seen = f"; saw {', '.join(present)}" if present else ""
            tick.out.event("arrive", i, locs.names[place])
            tick.remember(i, "observation", f"Arrived at {locs.names[place]}{seen}.", 2)
            start_activity(tick, i, int(agents.intent[i]), u_start[i])
        else:
            reason = "closed" if not is_open(state, place, tick.hour) else "full"
            agents.blocked[i], agents.blocked_until[i] = place, tick.t + REFUSED_TICKS
            agents.target[i] = NO
            tick.out.event("refused", i, locs.names[place], reason=reason)


def converse(tick: Tick) -> None:
    state, agents = tick.state, tick.state.agents
    cats = state.activities.categories
    eligible = [
        i
        for i in range(len(agents))
        if agents.inside[i] != NO
        and agents.chat_until[i] <= tick.t
        and (agents.activity[i] == NO or cats[agents.activity[i]] in CHATTY)
    ]
    if len(eligible) < 2:
        return
    u = tick.draw("events", "converse", (4, len(agents)))
    by_place: dict[int, list[int]] = {}
    for i in eligible:
        by_place.setdefault(int(agents.inside[i]), []).append(i)
    gatherings = active_gatherings(tick)
    cap = state.max_concurrent_chats or 1 << 30
    started = 0
    meeting_rng = None
    for place in sorted(by_place):
        members = sorted(by_place[place], key=lambda i: (u[0, i], i))
        if len(members) < 2 or started >= cap:
            continue
        standup = state.locations.kinds[place] in STANDUP_KINDS and tick.hour == STANDUP_HOUR
        if len(members) >= 3 and (place in gatherings or standup):
            if meeting_rng is None:
                meeting_rng = stream(state.seed, "events", tick.t, "meeting")
            hold_chat(tick, members[:MEETING_SIZE], place, "meeting", meeting_rng)
            started += 1
            continue
        for a, b in zip(members[::2], members[1::2], strict=False):
            if started >= cap:
                break
            familiarity = max(0.0, state.relationships.get((a, b), 0.0)) / 100
            if u[1, a] < 0.35 + 0.4 * familiarity:
                hold_chat(tick, [a, b], place, "chat", (float(u[2, a]), float(u[3, a])))
                started += 1


def topic_of(state: WorldState, members: list[int]) -> str:
    shared = None
    for i in members:
        words = set(state.agents.interests[i])
        shared = words if shared is None else shared & words
    if shared:
        return sorted(shared)[0]
    best = max(state.agents.interests[members[0]].items(), key=lambda kv: (kv[1], kv[0]), default=None)
    return best[0] if best else "the day"


def relationship_delta(state: WorldState, a: int, b: int, roll: float, size: float) -> float:
    interests = state.agents.interests
    if roll < 0.07:
        return -round(3.0 + 2.0 * size, 4)
    overlap = sum(min(w, interests[b].get(k, 0.0)) for k, w in interests[a].items())
    return round(1.0 + 3.0 * min(overlap, 1.0) + size, 4)


def hold_chat(tick: Tick, members: list[int], place: int, kind: str, rolls) -> None:
    state, agents = tick.state, tick.state.agents
    topic = topic_of(state, members)
    facts = share_facts(tick, members)
    deltas = {}
    for a in members:
        for b in members:
            if a < b:
                roll, size = rolls if isinstance(rolls, tuple) else rolls.random(2).tolist()
                deltas[(a, b)] = relationship_delta(state, a, b, roll, size)
    for (a, b), delta in deltas.items():
        for pair in ((a, b), (b, a)):
            score = state.relationships.get(pair, 0.0) + delta
            state.relationships[pair] = float(min(100.0, max(-100.0, round(score, 4))))
            tick.out.relationship_pairs.add(pair)
    names = [agents.names[m] for m in members]
    where = state.locations.names[place]
    for m in members:
        others = ", ".join(n for n in names if n != agents.names[m])
        tick.remember(
            m, "conversation", f"Talked with {others} at {where} about {topic}.", 4 if kind == "meeting" else 3
        )
        agents.needs[m, 2] = min(1.0, agents.needs[m, 2] + (0.35 if kind == "meeting" else 0.3))
        agents.needs[m, 3] = min(1.0, agents.needs[m, 3] + 0.05)
        agents.chat_until[m] = tick.t + state.window.ticks_for(CHAT_COOLDOWN_MINUTES)
    ids = [tick.aid(m) for m in members]
    short_id = f"{tick.t}-{len(tick.out.conversations)}"
    tick.out.conversations.append(
        {
            "chat_id": f"{state.world_id}-{short_id}",
            "kind": kind,
            "participants": ids,
            "location": where,
            "topic": topic,
            "tick": tick.t,
            "facts": facts,
        }
    )
    tick.out.event(
        kind,
        members[0],
        where,
        chat=short_id,
        participants=names,
        topic=topic,
        facts=facts,
        deltas=[[agents.names[a], agents.names[b], round(d, 4)] for (a, b), d in deltas.items()],
    )
    for m in members[:3]:
        tick.job(
            "utterance",
            m,
            chat=short_id,
            listeners=[i for i in ids if i != tick.aid(m)],
            place=where,
            topic=topic,
            partners=[n for n in names if n != agents.names[m]],
            relationship=round(np.mean([state.relationships.get((m, o), 0.0) for o in members if o != m]), 2),
        )


def update_needs(tick: Tick) -> None:
    state, agents = tick.state, tick.state.agents
    hours = state.window.tick_minutes / 60
    for i in range(len(agents)):
        needs = agents.needs[i] - NEED_DECAY_PER_HOUR * hours
        if agents.inside[i] != NO and agents.activity[i] != NO:
            needs += state.activities.effects[agents.activity[i]] * hours
        if agents.inside[i] == NO:
            needs[0] -= 0.02 * hours
        agents.needs[i] = np.clip(needs, 0.0, 1.0)


def reflect(tick: Tick) -> None:
    state, agents = tick.state, tick.state.agents
    for i in range(len(agents)):
        if agents.reflect_acc[i] < state.reflect_threshold:
            continue
        recent = [m["text"] for m in tick.out.memories if m["agent_id"] == tick.aid(i)][-3:]
        tick.out.event("reflect", i, tick.lname(agents.inside[i]))
        tick.remember(i, "reflection", f"Lately I keep thinking about {topic_of(state, [i])}.", 6)
        agents.reflect_acc[i] = 0
        tick.job("reflection", i, recent=recent, place=tick.lname(agents.inside[i]))
    u = tick.draw("events", "reflect", len(agents))
    cats = state.activities.categories
    for i in range(len(agents)):
        act = int(agents.activity[i])
        if agents.inside[i] == NO or act == NO or agents.busy_until[i] <= tick.t:
            continue
        if cats[act] in QUIET and u[i] < QUIET_CHANCE:
            where = tick.lname(agents.inside[i])
            tick.out.event("reflect.solo", i, where, tick.aname(act))
            tick.remember(i, "reflection", f"Took a quiet moment at {where}.", 2)


def invite_posts(tick: Tick) -> None:
    state = tick.state
    post_minute = (state.window.start_hour + 2) * 60
    if not tick.minute <= post_minute < tick.minute + state.window.tick_minutes:
        return
    u = tick.draw("events", "posts", len(state.agents))
    for i in range(len(state.agents)):
        if u[i] < POST_CHANCE:
            tick.out.event("board.intent", i)
            tick.job("board_post", i, topic=topic_of(state, [i]), job=state.agents.jobs[i])


def invite_replies(tick: Tick) -> None:
    state, agents = tick.state, tick.state.agents
    reply_minute = (state.window.start_hour + 1) * 60
    if not tick.minute <= reply_minute < tick.minute + state.window.tick_minutes:
        return
    yesterday = f"{BOARD_FACT}{tick.day - 1}:"
    keys = [k for k in state.facts if k.startswith(yesterday)]
    posts = sorted(keys, key=lambda k: [int(n) for n in board_post_of(state, k)[0].split("-")])
    if not posts:
        return
    u = tick.draw("events", "replies", (2, len(agents)))
    for i in range(len(agents)):
        place = int(agents.inside[i])
        at_board = place != NO and state.locations.kinds[place] == "board"
        if not (at_board or u[0, i] < REPLY_CHANCE):
            continue
        options = [
            k
            for k in posts
            if board_post_of(state, k)[1] != agents.names[i] and (at_board or k in state.known[i])
        ]
        if not options:
            continue
        ref, author, title = board_post_of(state, options[int(u[1, i] * len(options))])
        tick.out.event("board.reply_intent", i, post=ref)
        tick.job("board_reply", i, post_ref=ref, post=title, post_author=author, topic=title)
