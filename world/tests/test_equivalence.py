"""The fast tick and the readable reference (world/engine/reference.py) are the same rules: over
whole days on small towns — the shipped scenarios with their news and gatherings, and generated
towns crowded enough that places fill up and refuse people — both produce byte-identical event
logs, memories, conversations and LLM jobs, and end in the same state."""

from pathlib import Path

import pytest

from village.loading import fact_key
from world.engine.build import build_state
from world.engine.clock import DayWindow
from world.engine.reference import reference_step
from world.engine.state import WorldState, dynamic_dict, state_digest
from world.engine.step import engine_step
from world.generate import generate_scenario
from world.scenario import ScenarioSpec, check_integrity, load_scenario

ROOT = Path(__file__).resolve().parents[2]


def state_from(spec: ScenarioSpec, *, seed: int, window: DayWindow) -> WorldState:
    ids = {agent.name: n + 1 for n, agent in enumerate(spec.agents)}
    index = {agent.name: n for n, agent in enumerate(spec.agents)}
    names = [loc.name for loc in spec.locations]
    return build_state(
        world_id=1,
        seed=seed,
        tick=0,
        window=window,
        map_rows=spec.map.rows,
        legend=spec.map.legend,
        locations=[
            {"name": p.name, "kind": p.kind, "area": p.area, "capacity": p.capacity, "open_hours": p.open_hours}
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
        memories=[
            {"agent_id": ids[a.name], "fact_key": fact_key(m.text), "fact_text": m.text, "importance": m.importance}
            for a in spec.agents
            for m in a.memories
            if not isinstance(m, str) and m.shareable
        ],
        scripted=[
            {
                "day": e.day,
                "minute": e.minute_of_day,
                "location": names.index(e.place),
                "participants": [index[p] for p in e.participants],
                "description": e.description,
                "kind": e.kind,
                "duration_minutes": e.duration_minutes,
            }
            for e in spec.events
        ],
    )


def generated(agents: int, size: int, seed: int) -> ScenarioSpec:
    spec = ScenarioSpec.model_validate(generate_scenario(agents=agents, width=size, height=size, seed=seed))
    check_integrity(spec, "(generated)")
    return spec


def crowded(agents: int, size: int, seed: int) -> ScenarioSpec:
    """A generated town with small venues and brisk walkers, so places fill and refuse people."""
    data = generate_scenario(agents=agents, width=size, height=size, seed=seed)
    for loc in data["locations"]:
        if loc["kind"] != "home":
            loc["capacity"] = 3
    for n, person in enumerate(data["agents"]):
        person["speed"] = (0.1, 0.5, 1.0, 2.0)[n % 4]
    return ScenarioSpec.model_validate(data)


def inputs_for(state: WorldState) -> dict[int, list[dict]]:
    """A few console commands, model results and board notes at fixed ticks, good and bad."""
    agents = state.agents
    first, second = int(agents.ids[0]), int(agents.ids[-1])
    place = state.locations.names[-1]

    def posted(seq, agent_id, ref):
        return {"seq": seq, "kind": "board.posted", "payload": {"agent_id": agent_id, "ref": ref, "title": f"Note {ref}"}}

    return {
        2: [posted(10, first, "1-4"), posted(11, second, "1-9"), posted(12, first, "1-4"), posted(13, first, "101")],
        4: [
            {
                "seq": 14,
                "kind": "board.reply",
                "payload": {"agent_id": first, "author": "hana", "text": "Me too!", "title": "Note 101", "post_id": 101},
            },
            {
                "seq": 15,
                "kind": "llm.result",
                "payload": {"agent_id": second, "kind": "board_reply", "output": {"body": "Sure."}, "post_ref": "1-4"},
            },
            {
                "seq": 17,
                "kind": "llm.result",
                "payload": {"agent_id": first, "kind": "board_reply", "output": {"body": "Thanks!"}, "post_id": 101},
            },
            {
                "seq": 16,
                "kind": "llm.result",
                "payload": {"agent_id": second, "kind": "board_reply", "output": {"body": "Lost?"}},
            },
        ],
        3: [
            {"seq": 1, "kind": "agent.move", "payload": {"agent_id": first, "location": place}},
            {"seq": 2, "kind": "agent.move", "payload": {"agent_id": 999999, "location": place}},
        ],
        9: [
            {
                "seq": 3,
                "kind": "llm.result",
                "payload": {
                    "agent_id": second,
                    "kind": "plan",
                    "day": 1,
                    "output": {"items": [{"hour": 15, "activity": state.activities.names[0], "place": place}]},
                },
            }
        ],
    }


def run_both(spec: ScenarioSpec, *, seed: int, window: DayWindow, days: int = 1):
    fast, slow = state_from(spec, seed=seed, window=window), state_from(spec, seed=seed, window=window)
    inputs = inputs_for(fast)
    for _ in range(days * window.ticks_per_day + 1):
        at = fast.tick
        mine = engine_step(fast, inputs.get(at, []), llm_jobs=True)
        theirs = reference_step(slow, inputs.get(at, []), llm_jobs=True)
        assert mine.lines() == theirs.lines(), f"tick {at}: the event logs differ"
        assert mine.digest == theirs.digest
        assert mine.memories == theirs.memories, f"tick {at}: the memories differ"
        assert mine.conversations == theirs.conversations
        assert mine.jobs == theirs.jobs
        assert mine.moved == theirs.moved and mine.plan_agents == theirs.plan_agents
        assert mine.rejected == theirs.rejected
        assert mine.relationship_pairs == theirs.relationship_pairs
        assert state_digest(fast) == state_digest(slow), f"tick {at}: the states differ"
    return fast, slow


@pytest.mark.parametrize("scenario", ["default.yaml", "riverbend.yaml"])
def test_the_fast_tick_matches_the_reference_over_a_day_in_the_shipped_towns(scenario):
    spec = load_scenario(ROOT / "scenarios" / scenario)
    fast, _ = run_both(spec, seed=7, window=DayWindow())
    assert fast.tick == DayWindow().ticks_per_day + 1


def test_the_fast_tick_matches_the_reference_in_a_generated_town():
    fast, slow = run_both(generated(60, 48, seed=3), seed=11, window=DayWindow(tick_minutes=30))
    assert dynamic_dict(fast) == dynamic_dict(slow)


def test_the_fast_tick_matches_the_reference_when_places_fill_up_and_walkers_differ():
    fast, _ = run_both(crowded(50, 40, seed=5), seed=2, window=DayWindow(start_hour=7, end_hour=21))
    assert fast.relationships, "people talked"


def test_the_reference_really_refuses_people_in_the_crowded_town():
    spec = crowded(50, 40, seed=5)
    state = state_from(spec, seed=2, window=DayWindow(start_hour=7, end_hour=21))
    kinds = set()
    for _ in range(state.window.ticks_per_day):
        kinds |= {e["kind"] for e in engine_step(state, [], llm_jobs=False).events}
    assert {"refused", "arrive", "chat", "move.start", "task.update"} <= kinds


def test_the_fast_tick_matches_the_reference_when_agents_answer_yesterdays_board_posts():
    fast, _ = run_both(generated(40, 40, seed=4), seed=5, window=DayWindow(tick_minutes=60), days=2)
    # Run again, keeping the events, to see that the day-2 answers really happened.
    spec = generated(40, 40, seed=4)
    state = state_from(spec, seed=5, window=DayWindow(tick_minutes=60))
    inputs = inputs_for(state)
    kinds, answered = set(), set()
    for _ in range(2 * state.window.ticks_per_day + 1):
        out = engine_step(state, inputs.get(state.tick, []), llm_jobs=True)
        kinds |= {e["kind"] for e in out.events}
        answered |= {(j["agent_id"], j["context"]["post_ref"]) for j in out.jobs if "post_ref" in j["context"]}
    assert {"board.posted", "board.reply_read", "board.agent_reply", "board.reply_intent"} <= kinds
    assert {ref for _, ref in answered} == {"1-4", "1-9"}, "yesterday's posts were answered on day 2"
    first, second = int(state.agents.ids[0]), int(state.agents.ids[-1])
    assert (first, "1-4") not in answered and (second, "1-9") not in answered, "nobody answers their own post"
    assert dynamic_dict(fast) == dynamic_dict(state)
