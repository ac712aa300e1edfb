"""The tick writes each chat as a conversation with exactly the agents who held it (on
PostgreSQL the ids are drawn first and both tables go in by COPY; elsewhere by executemany)."""

import pytest

from agents.models import Conversation
from village.loading import world_create_from_scenario
from village.tick import tick_advance
from world.generate import generate_scenario
from world.scenario import ScenarioSpec


@pytest.fixture(autouse=True)
def _reports_in_tmp(settings, tmp_path):
    settings.VILLAGE_REPORTS_DIR = tmp_path / "reports"
    settings.VILLAGE_EMBEDDER = "hashing"


def test_every_chat_is_stored_with_its_participants(transactional_db):
    data = generate_scenario(agents=40, width=48, height=48, seed=3, name="Chatty town")
    world = world_create_from_scenario(spec=ScenarioSpec.model_validate(data), seed=5)
    held = {}
    for _ in range(16):
        out = tick_advance(world_id=world.id, dispatch_jobs=False)
        held.update({c["chat_id"]: (c["tick"], sorted(c["participants"])) for c in out.conversations})
    assert len(held) > 5, "the town talked"
    stored = {
        c.chat_id: (c.tick, sorted(c.participants.values_list("id", flat=True)))
        for c in Conversation.objects.filter(world=world).prefetch_related("participants")
    }
    assert stored == held
