"""A tick's query count does not grow with the number of agents: the same statements run for a
town of 20 and a town of 200 (bulk COPY / executemany, never a query per agent), counted through
tick_advance with its in-transaction side effects and its after-commit hooks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Memory
from village.loading import world_create_from_scenario
from village.tick import tick_advance
from world.eventlog import events_all
from world.generate import generate_scenario
from world.scenario import ScenarioSpec

SIZE = 72  # room for 200 agents' homes, workplaces and venues


@pytest.fixture(autouse=True)
def _reports_in_tmp(settings, tmp_path):
    settings.VILLAGE_REPORTS_DIR = tmp_path / "reports"


def town(agents: int, name: str):
    data = generate_scenario(agents=agents, width=SIZE, height=SIZE, seed=4, name=name)
    return world_create_from_scenario(spec=ScenarioSpec.model_validate(data), seed=9)


def queries_per_tick(world, ticks: int) -> list[int]:
    counts = []
    for _ in range(ticks):
        with CaptureQueriesContext(connection) as captured:
            assert tick_advance(world_id=world.id, dispatch_jobs=False) is not None
        counts.append(len(captured.captured_queries))
    return counts


def test_a_tick_costs_the_same_queries_for_20_agents_as_for_200(transactional_db):
    small, large = town(20, "Hamlet"), town(200, "Town")
    warm = 2  # the day's first tick snapshots and plans; the first tick in a process loads state
    few, many = queries_per_tick(small, warm + 10), queries_per_tick(large, warm + 10)
    assert few[:warm] == many[:warm], "the day's first ticks do not grow with agents either"
    # Every tick runs the same statements; the only difference between ticks is a side effect
    # that writes only when there is something to write (wages when work was done), so compare
    # the worst tick and hold every tick of the big town to the small town's worst.
    assert max(many[warm:]) == max(few[warm:]), (few, many)
    assert all(n <= max(few[warm:]) for n in many[warm:]), (few, many)
    assert len(events_all(large, ["arrive"])) > 50, "the big town was busy"
    assert Memory.objects.filter(agent__world=large).count() > 100
