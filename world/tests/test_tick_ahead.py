"""Stepping ahead (village/tick.py): while a tick's rows go in, the next tick's engine step runs
on a fork of the state. A tick that takes that step is the tick that would have been stepped in
place: the same records, digests and state, whether an input arrives in between, the state is
reloaded, or the step ahead is switched off."""

import pytest
from django.db.models import F

from agents.models import Agent, Memory
from village import state_store
from village.loading import world_create_from_scenario
from village.simulate import RunConfig, configure
from village.tick import tick_advance
from world.engine.build import build_state
from world.engine.clock import DayWindow
from world.engine.state import fork_settle, state_digest, state_fork
from world.engine.step import engine_step
from world.generate import generate_scenario
from world.models import InputLog, TickRecord, World
from world.scenario import DEFAULT_LEGEND, ScenarioSpec
from world.services import input_submit

AGENTS, SIZE = 40, 48


@pytest.fixture(autouse=True)
def _reports_in_tmp(settings, tmp_path):
    settings.VILLAGE_REPORTS_DIR = tmp_path / "reports"


def town(name: str):
    """A town whose day is 8 ticks, so that runs cross days (a day's first tick snapshots the
    state before it)."""
    data = generate_scenario(agents=AGENTS, width=SIZE, height=SIZE, seed=5, name=name)
    world = world_create_from_scenario(spec=ScenarioSpec.model_validate(data), seed=3)
    return configure(world, RunConfig(start_hour=8, end_hour=12, tick_minutes=30, dry_run=True))


def run(world, ticks: int, *, ahead: bool, settings, between=None) -> tuple[list[str], str, int]:
    """(digest of each tick, final state digest, ticks that took the step made ahead)."""
    settings.VILLAGE_TICK_AHEAD = ahead
    taken = 0
    for n in range(ticks):
        if between is not None:
            between(world, n)
        before = state_store.state_cached(_fresh(world))
        assert tick_advance(world_id=world.id, dispatch_jobs=False) is not None
        after = state_store.state_cached(_fresh(world))
        # Stepping in place keeps the state object; taking the step ahead swaps in its copy.
        taken += before is not None and after is not before
    digests = list(TickRecord.objects.filter(world=world).order_by("tick").values_list("digest", flat=True))
    return digests, state_digest(state_store.state_load(_fresh(world))), taken


def _fresh(world):
    world.refresh_from_db()
    return world


def test_ticks_stepped_ahead_are_the_ticks_stepped_in_place(transactional_db, settings):
    ahead, in_place = town("Ahead"), town("In place")
    fast = run(ahead, 30, ahead=True, settings=settings)
    slow = run(in_place, 30, ahead=False, settings=settings)
    # All but the first tick, which loads the state, and the second (no step ahead follows a
    # tick that had to load the state).
    assert fast[2] == 30 - 2
    assert slow[2] == 0
    assert fast[:2] == slow[:2]
    assert (
        Memory.objects.filter(agent__world=ahead).count()
        == Memory.objects.filter(agent__world=in_place).count()
    )
    assert Memory.objects.filter(agent__world=ahead).count() > 0


def test_an_input_between_ticks_drops_the_step_ahead_and_is_applied(transactional_db, settings):
    def move_someone(world, n):
        if n in (5, 6, 12):
            agent = world.agents.order_by("id")[n]
            input_submit(world=world, kind="agent.move", payload={"agent_id": agent.id, "location": "Park 1"})

    ahead, in_place = town("Ahead"), town("In place")
    fast = run(ahead, 20, ahead=True, settings=settings, between=move_someone)
    slow = run(in_place, 20, ahead=False, settings=settings, between=move_someone)
    assert fast[:2] == slow[:2]
    # Stepped in place: the first two ticks, the ticks that found an input (5, 6, 12) and the
    # ticks after them (no step ahead follows a tick that found inputs).
    assert fast[2] == 20 - len({0, 1, 5, 6, 12, 7, 13})
    assert InputLog.objects.filter(world=ahead, status=InputLog.Status.PENDING).count() == 0
    statuses = list(InputLog.objects.filter(world=ahead).order_by("id").values_list("status", "applied_tick"))
    assert statuses == list(
        InputLog.objects.filter(world=in_place).order_by("id").values_list("status", "applied_tick")
    )


def test_a_reloaded_state_does_not_take_a_step_made_from_the_old_one(transactional_db, settings):
    def reload_now_and_then(world, n):
        if n % 4 == 3:  # as when another process ran ticks
            state_store.state_forget(world.id)
        if n == 9:  # the world changed under the state: everyone walks twice as fast from now on
            Agent.objects.filter(world=world).update(speed=F("speed") * 2)
            World.objects.filter(pk=world.pk).update(state_version=F("state_version") + 1)

    ahead, in_place = town("Ahead"), town("In place")
    fast = run(ahead, 16, ahead=True, settings=settings, between=reload_now_and_then)
    slow = run(in_place, 16, ahead=False, settings=settings, between=reload_now_and_then)
    assert fast[:2] == slow[:2]
    # Stepped in place: the ticks that loaded the state (0, 3, 7, 9, 11, 15) and the ticks after
    # them (no step ahead follows a tick that had to load the state).
    assert fast[2] == 16 - len({0, 1, 3, 4, 7, 8, 9, 10, 11, 12, 15})


def test_stepping_a_fork_leaves_the_state_it_was_forked_from_as_it_was():
    def built():
        data = generate_scenario(agents=AGENTS, width=SIZE, height=SIZE, seed=5, name="Fork")
        rows = [dict(a, id=n + 1) for n, a in enumerate(data["agents"])]
        return build_state(
            world_id=0,
            seed=3,
            tick=0,
            window=DayWindow(start_hour=8, end_hour=12, tick_minutes=30),
            map_rows=data["map"]["rows"],
            legend=DEFAULT_LEGEND,
            locations=data["locations"],
            activities=data["activities"],
            agents=rows,
        )

    state, in_place = built(), built()
    for _ in range(6):  # some chats first, so there are relationships to read through
        engine_step(state, [], llm_jobs=False)
        engine_step(in_place, [], llm_jobs=False)
    assert state.relationships
    before = state_digest(state)
    fork = state_fork(state)
    outs = [engine_step(fork, [], llm_jobs=False).digest for _ in range(4)]
    assert state_digest(state) == before, "the forked state did not move"
    assert outs == [engine_step(in_place, [], llm_jobs=False).digest for _ in range(4)]
    assert len(fork.relationships) < len(in_place.relationships), "the fork holds only what it wrote"
    fork_settle(fork)
    assert fork.relationships is state.relationships
    assert state_digest(fork) == state_digest(in_place)
