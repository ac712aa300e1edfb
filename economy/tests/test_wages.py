"""Wages from the tick: a shift is paid when its agent leaves the place it worked at, one
ledger entry for all the blocks of work it did there, and no block is paid twice or lost."""

import pytest
from django.db.models import Sum

from agents.models import AgentLocationVisit
from economy.models import LedgerEntry
from village import state_store
from village.loading import world_create_from_scenario
from village.tick import tick_advance
from world.eventlog import events_all
from world.generate import generate_scenario
from world.models import World
from world.scenario import ScenarioSpec


@pytest.fixture(autouse=True)
def _reports_in_tmp(settings, tmp_path):
    settings.VILLAGE_REPORTS_DIR = tmp_path / "reports"
    settings.VILLAGE_WAGE_CENTS = 25
    settings.VILLAGE_EMBEDDER = "hashing"  # wages need no embedding model


def test_every_block_of_work_is_paid_once_when_its_shift_ends(transactional_db):
    data = generate_scenario(agents=40, width=48, height=48, seed=3, name="Mill town")
    world = world_create_from_scenario(spec=ScenarioSpec.model_validate(data), seed=5)
    ticks = state_store.window_of(world).ticks_per_day + 4  # over a day's end: everyone leaves
    for _ in range(ticks):
        tick_advance(world_id=world.id, dispatch_jobs=False)

    blocks = len(events_all(world, ["task.update"]))
    wages = LedgerEntry.objects.filter(agent__world=world, reason=LedgerEntry.Reason.WAGE)
    state = state_store.state_get(World.objects.get(pk=world.id))
    unpaid = int(state.agents.unpaid.sum())
    assert blocks > 0
    assert wages.aggregate(total=Sum("amount"))["total"] + 25 * unpaid == 25 * blocks
    assert wages.count() < blocks, "a shift's blocks go in one entry"
    # Each wage is paid in the tick its agent's visit ended.
    ended = set(AgentLocationVisit.objects.filter(agent__world=world).values_list("agent_id", "until_tick"))
    paid = set(wages.values_list("agent_id", "tick"))
    assert paid <= ended

    # The blocks still owed live in the packed live state: a reload keeps them.
    state_store.state_forget(world.id)
    reloaded = state_store.state_get(World.objects.get(pk=world.id))
    assert reloaded.agents.unpaid.tolist() == state.agents.unpaid.tolist()
