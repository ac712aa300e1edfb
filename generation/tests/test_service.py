"""The LLM service on the scripted backend: results come back as inputs, are metered, cached,
and gated by each agent's compute allowance."""

import pytest

from agents.models import Agent
from generation import services
from generation.models import LLMCacheEntry, LLMCall
from generation.services import interview_answer, llm_jobs_run
from village.tick import tick_advance
from world.models import InputLog


@pytest.fixture
def first_tick_jobs(world, settings):
    settings.VILLAGE_LLM_DISPATCH = "off"
    return tick_advance(world_id=world.id, dispatch_jobs=True).jobs


def test_results_come_back_as_inputs_and_are_metered(world, first_tick_jobs):
    results = llm_jobs_run(world_id=world.id, jobs=first_tick_jobs, backend_name="scripted")
    assert len(results) == len(first_tick_jobs) > 0
    assert InputLog.objects.filter(world=world, kind="llm.result", status="pending").count() == len(results)
    assert LLMCall.objects.filter(world=world).count() == len(results)
    assert {r.outcome for r in results} <= {"ok", "repaired", "fallback"}


def test_a_repeated_prompt_is_served_from_the_cache(world):
    ava = Agent.objects.get(world=world, name="Ava")
    jobs = [{"kind": "flavor", "agent_id": ava.id, "job_id": f"f{n}", "context": {"place": "Park", "day": 1, "hour": 9}}
            for n in range(2)]
    llm_jobs_run(world_id=world.id, jobs=jobs[:1], backend_name="scripted")
    assert LLMCacheEntry.objects.count() == 1
    llm_jobs_run(world_id=world.id, jobs=jobs[1:], backend_name="scripted")
    assert list(LLMCall.objects.order_by("id").values_list("cached", flat=True)) == [False, True]


def test_a_quarantined_agent_gets_rule_based_text_and_no_model_call(world, first_tick_jobs):
    agent_id = first_tick_jobs[0]["agent_id"]
    Agent.objects.filter(pk=agent_id).update(quarantined=True)
    llm_jobs_run(world_id=world.id, jobs=first_tick_jobs, backend_name="scripted")
    mine = LLMCall.objects.filter(agent_id=agent_id)
    assert mine.exists() and set(mine.values_list("outcome", flat=True)) == {"denied"}
    assert LLMCall.objects.exclude(agent_id=agent_id).exclude(outcome="denied").exists()


def test_an_agent_over_its_hourly_allowance_is_denied(world, first_tick_jobs, monkeypatch):
    monkeypatch.setattr(services, "allowances_for", lambda ids: {i: services.Allowance(requests_per_hour=0) for i in ids})
    llm_jobs_run(world_id=world.id, jobs=first_tick_jobs, backend_name="scripted")
    assert set(LLMCall.objects.values_list("outcome", flat=True)) == {"denied"}


def test_an_interview_draws_on_the_planted_fact(world):
    ava = Agent.objects.get(world=world, name="Ava")
    answer = interview_answer(agent=ava, question="What will the Corner Market sell on Friday?", backend_name="scripted")
    assert answer.memories[0].text == "The Corner Market will start selling fresh bread on Friday."
    assert answer.answer


def test_an_empty_question_is_refused(world):
    ava = Agent.objects.get(world=world, name="Ava")
    with pytest.raises(services.InterviewError, match="question"):
        interview_answer(agent=ava, question="   ", backend_name="scripted")


class GarbageBackend:
    """A small model (one every tier may use) that never writes what it was asked for."""

    name, model_name = "garbage", "smollm2"

    def complete_batch(self, prompts, max_new_tokens):
        from generation.llm.backends import Completion

        return [Completion('{"body": null, "text": [1, 2]} <b>', 10, 10) for _ in prompts]


@pytest.fixture
def garbage_model(world):
    services._BACKENDS["garbage"] = GarbageBackend()
    world.options = {**world.options, "llm_backend": "garbage"}
    world.save(update_fields=["options"])
    yield
    services._BACKENDS.pop("garbage", None)


def test_a_garbage_board_reply_falls_back_to_a_grounded_answer_inside_the_tick(world, garbage_model, django_user_model):
    from board.models import Reply
    from board.services import reply_create
    from economy.tests.factories import post_by_agent

    hana = django_user_model.objects.create_user("hana", password="pw")
    agent = Agent.objects.filter(world=world).order_by("id").first()
    post = post_by_agent(agent, title="Seeds for the garden")
    reply_create(principal=hana, post=post, body="I have tomato seeds to spare.")

    for _ in range(2):
        assert tick_advance(world_id=world.id) is not None

    call = LLMCall.objects.get(agent=agent, kind="board_reply")
    assert (call.backend, call.outcome) == ("garbage", "fallback")
    answer = Reply.objects.get(post=post, author_agent=agent)
    assert answer.body == (
        'Thank you, hana. You wrote "I have tomato seeds to spare." - I will keep that in mind about '
        '"Seeds for the garden".'
    )
    assert not InputLog.objects.filter(world=world, status="rejected").exists()
