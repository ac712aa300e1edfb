"""The engine over a whole simulated day: walking speed and walls, capacity and opening hours,
inputs that are refused, and news that travels from one agent to another through chats."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from agents.models import Agent, Memory
from village.loading import fact_key, world_create_from_scenario
from village.state_store import scripted_for_engine
from village.tick import tick_advance
from world.engine.build import build_state, fields_prepare
from world.engine.clock import DayWindow
from world.engine.state import NO, WorldState, state_digest
from world.engine.step import engine_step
from world.scenario import ScenarioSpec, load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "default.yaml"
RIVERBEND = ROOT / "scenarios" / "riverbend.yaml"
TRIO = Path(__file__).resolve().parent / "scenarios" / "trio.yaml"


def state_from(spec: ScenarioSpec, *, seed: int = 1, window: DayWindow | None = None) -> WorldState:
    """The engine state for a scenario, built from the same rows `state_store.state_load` passes."""
    ids = {agent.name: n + 1 for n, agent in enumerate(spec.agents)}
    memories = [
        {
            "agent_id": ids[agent.name],
            "fact_key": fact_key(m.text),
            "fact_text": m.text,
            "importance": m.importance,
        }
        for agent in spec.agents
        for m in agent.memories
        if not isinstance(m, str) and m.shareable
    ]
    names = [loc.name for loc in spec.locations]
    return build_state(
        world_id=1,
        seed=seed,
        tick=0,
        window=window or DayWindow(),
        map_rows=spec.map.rows,
        legend=spec.map.legend,
        locations=[
            {
                "name": p.name,
                "kind": p.kind,
                "area": p.area,
                "capacity": p.capacity,
                "open_hours": p.open_hours,
            }
            for p in spec.locations
        ],
        activities=[a.model_dump() for a in spec.activities],
        agents=[
            {
                "id": ids[a.name],
                "name": a.name,
                "interests": a.interests,
                "traits": a.traits,
                "job": a.job,
                "home": a.home,
                "workplace": a.workplace,
                "work_hours": a.work_hours,
                "speed": a.speed,
            }
            for a in spec.agents
        ],
        relationships=[(ids[r.a], ids[r.b], r.score) for r in spec.relationships],
        memories=memories,
        scripted=scripted_for_engine(
            SimpleNamespace(scripted_events=[e.model_dump() for e in spec.events]), names, list(ids)
        ),
    )


def run_day(state: WorldState, inputs_at: dict[int, list[dict]] | None = None):
    """Step one whole day; yields (positions before, output) for every tick."""
    for _ in range(state.window.ticks_per_day):
        before = state.agents.pos.copy()
        out = engine_step(state, (inputs_at or {}).get(state.tick, []), llm_jobs=False)
        yield before, out


# --- walking ---------------------------------------------------------------------------------


def test_a_state_prepared_for_ticking_walks_a_whole_day_without_computing_a_field():
    state = state_from(load_scenario(RIVERBEND))
    held = fields_prepare(state)
    assert held == len({tuple(a) for a in state.locations.anchor.tolist()})
    computed = state.grid.fields_computed
    moved = sum(len(out.moved) for _, out in run_day(state))
    assert moved > 0
    assert state.grid.fields_computed == computed, "a destination's field was computed during the day"


def test_preparing_fields_stops_at_the_budget():
    state = state_from(load_scenario(RIVERBEND))
    state.grid.max_fields = 3
    assert fields_prepare(state) == 3
    assert state.grid.fields_computed == 3 < len(state.locations.names)



def with_speeds(spec: ScenarioSpec, speeds: list[float]) -> ScenarioSpec:
    for n, agent in enumerate(spec.agents):
        agent.speed = speeds[n % len(speeds)]
    return spec


@pytest.mark.parametrize(
    ("scenario", "tick_minutes", "speeds"),
    [(DEFAULT, 15, [1.0, 0.2, 0.5, 2.0]), (RIVERBEND, 5, [1.0, 0.4, 0.6, 3.0]), (TRIO, 30, [0.1, 0.25])],
    ids=["default", "riverbend", "trio"],
)
def test_nobody_walks_faster_than_their_speed_or_onto_a_wall(scenario, tick_minutes, speeds):
    state = state_from(
        with_speeds(load_scenario(scenario), speeds), seed=3, window=DayWindow(8, 20, tick_minutes)
    )
    limit = np.floor(state.agents.speed * tick_minutes).astype(int)
    walked = np.zeros(len(state.agents), int)
    for before, out in run_day(state):
        after = state.agents.pos
        step = np.abs(after - before).sum(axis=1)
        too_fast = np.flatnonzero(step > limit)
        assert not len(too_fast), (
            f"tick {out.tick}: {[state.agents.names[i] for i in too_fast]} moved {step[too_fast]}"
        )
        assert state.grid.walkable[after[:, 1], after[:, 0]].all(), (
            f"tick {out.tick}: someone stands on a wall"
        )
        walked += step
    assert (walked > 0).all(), "everyone went somewhere during the day"
    slow = np.argmin(state.agents.speed)
    assert walked[slow] > limit[slow], "the slowest walker needed more than one tick for its walks"


def test_a_very_slow_walker_does_not_outpace_its_speed():
    spec = with_speeds(load_scenario(TRIO), [0.05])
    state = state_from(spec, window=DayWindow(8, 20, 15))
    allowed = 0.05 * 15  # three quarters of a tile per tick
    walked = 0
    for n, (before, _) in enumerate(run_day(state), start=1):
        walked += int(np.abs(state.agents.pos - before).sum(axis=1).max())
        assert walked <= np.floor(allowed * n), f"after {n} ticks someone walked {walked} tiles"


# --- capacity and opening hours ----------------------------------------------------------------


def crowded_default() -> ScenarioSpec:
    """Everyone loves coffee, the cafe holds one person and closes at one; the market holds two."""
    spec = load_scenario(DEFAULT)
    for agent in spec.agents:
        agent.interests = {"coffee": 1.0}
    places = {loc.name: loc for loc in spec.locations}
    places["Bean There Cafe"].capacity = 1
    places["Bean There Cafe"].open_hours = (7, 13)
    places["Corner Market"].capacity = 2
    return spec


@pytest.mark.parametrize("seed", [1, 2])
def test_no_place_ever_holds_more_people_than_its_capacity(seed):
    state = state_from(crowded_default(), seed=seed)
    locs = state.locations
    refused_full = 0
    for _, out in run_day(state):
        inside = state.agents.inside
        occupancy = np.bincount(inside[inside != NO], minlength=len(locs.names))
        over = np.flatnonzero(occupancy > locs.capacity)
        assert not len(over), f"tick {out.tick}: {[(locs.names[i], int(occupancy[i])) for i in over]}"
        refused_full += sum(e["kind"] == "refused" and e["data"]["reason"] == "full" for e in out.events)
    assert refused_full, "more people wanted the cafe than it holds, so some were turned away"


def test_closed_venues_have_nobody_inside():
    state = state_from(crowded_default())
    locs = state.locations
    cafe = state.location_index("Bean There Cafe")
    visited_cafe = closed_ticks = 0
    for _, out in run_day(state):
        hour = state.window.hour_of(out.tick)
        closed = ~locs.is_open(hour) & np.array([kind != "home" for kind in locs.kinds])
        inside = state.agents.inside
        inside_closed = [
            state.agents.names[i] for i in np.flatnonzero((inside != NO) & closed[np.maximum(inside, 0)])
        ]
        assert not inside_closed, f"tick {out.tick} ({hour}:00): {inside_closed} inside a closed venue"
        visited_cafe += int((inside == cafe).any())
        closed_ticks += int(closed[cafe])
    assert visited_cafe and closed_ticks, "the cafe was used while open and then closed during the day"


def test_the_same_state_and_seed_step_to_the_same_digests():
    first = [out.digest for _, out in run_day(state_from(load_scenario(DEFAULT), seed=4))]
    again = [out.digest for _, out in run_day(state_from(load_scenario(DEFAULT), seed=4))]
    other = [out.digest for _, out in run_day(state_from(load_scenario(DEFAULT), seed=5))]
    assert first == again
    assert first != other


# --- inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            {"kind": "agent.move", "payload": {"agent_id": 99, "location": "Riverside Park"}},
            "unknown agent 99",
        ),
        (
            {"kind": "agent.move", "payload": {"agent_id": 1, "location": "Atlantis"}},
            "unknown location 'Atlantis'",
        ),
        (
            {"kind": "agent.action", "payload": {"agent_id": 1, "activity": "juggling"}},
            "unknown activity 'juggling'",
        ),
        ({"kind": "agent.action", "payload": {"agent_id": 1, "activity": "work out"}}, "not possible where"),
        ({"kind": "agent.teleport", "payload": {"agent_id": 1}}, "unknown input kind 'agent.teleport'"),
        ({"kind": "llm.result", "payload": {"agent_id": 1, "kind": "spell"}}, "unknown job kind 'spell'"),
    ],
    ids=[
        "unknown-agent",
        "unknown-place",
        "unknown-activity",
        "activity-elsewhere",
        "unknown-kind",
        "unknown-job",
    ],
)
def test_a_bad_input_is_refused_with_its_reason_and_changes_nothing(payload, reason):
    state, control = state_from(load_scenario(DEFAULT)), state_from(load_scenario(DEFAULT))
    out = engine_step(state, [{"seq": 7, **payload}], llm_jobs=False)
    plain = engine_step(control, [], llm_jobs=False)
    ((seq, why),) = out.rejected
    assert seq == 7 and reason in why
    assert out.digest == plain.digest
    assert state_digest(state) == state_digest(control)


def test_a_move_command_sends_the_agent_there():
    state = state_from(load_scenario(DEFAULT))
    finn, park = state.agent_index()[6], state.location_index("Riverside Park")
    move = {"seq": 1, "kind": "agent.move", "payload": {"agent_id": 6, "location": "Riverside Park"}}
    first = engine_step(state, [move], llm_jobs=False)
    assert not first.rejected
    assert [e["kind"] for e in first.events if e["agent"] == finn][0] == "command.move"
    for _ in range(3):
        engine_step(state, [], llm_jobs=False)
    assert state.agents.inside[finn] == park


# --- news travels --------------------------------------------------------------------------------

NEWS = "The old bridge closes on Friday for repairs."


@pytest.fixture
def trio_world(transactional_db):
    return world_create_from_scenario(spec=load_scenario(TRIO), seed=1)


def test_news_planted_in_one_mind_is_told_and_then_retold(trio_world):
    """Ava's news reaches someone who heard it from Ava, and then someone who never spoke with Ava
    about it hears it from a third agent."""
    for _ in range(16):  # 08:00 to 12:00: both gatherings, before everyone meets at lunch
        tick_advance(world_id=trio_world.id)
    key = fact_key(NEWS)
    names = dict(Agent.objects.filter(world=trio_world).values_list("id", "name"))
    heard = list(
        Memory.objects.filter(agent__world=trio_world, fact_key=key)
        .exclude(kind=Memory.Kind.FACT)
        .order_by("tick", "id")
    )
    told = [(names[m.agent_id], names[m.about_agent_id], m.text, m.tick) for m in heard]
    assert {who for who, *_ in told} >= {"Ben", "Cleo"}, told
    for who, teller, text, _ in told:
        assert text == f"{teller} told me: {NEWS}"
        assert who != "Ava" and teller != who
    first_heard = {who: tick for who, _, _, tick in reversed(told)}
    retold = [(who, teller) for who, teller, _, tick in told if teller != "Ava"]
    assert retold, f"nobody passed the news on: {told}"
    for who, teller in retold:
        assert first_heard[teller] < first_heard[who], f"{teller} told {who} before hearing it"
    (planted,) = Memory.objects.filter(agent__world=trio_world, fact_key=key, kind=Memory.Kind.FACT)
    assert names[planted.agent_id] == "Ava" and planted.text == NEWS


def test_a_private_memory_is_never_retold(trio_world):
    for _ in range(8):
        tick_advance(world_id=trio_world.id)
    ava = Agent.objects.get(world=trio_world, name="Ava")
    private = ava.memories.get(text__startswith="I keep my reading glasses")
    assert private.fact_key == ""
    others = Memory.objects.filter(agent__world=trio_world).exclude(agent=ava)
    assert others.filter(about_agent=ava).exists(), "Ava did talk, just not about her glasses"
    assert not others.filter(text__contains="reading glasses").exists()
