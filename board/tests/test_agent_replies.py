"""Agents answer on the board: a human's reply to an agent's post is read at the agent's next
tick and answered through the LLM service (scripted backend, inline dispatch), and the answer is
written as the agent's reply, unless the post stopped taking replies or the agent may not see it."""

from __future__ import annotations

import pytest

from agents.models import Memory
from board.models import Post, Reply
from board.services import board_replies_from_tick, post_moderate, reply_create
from economy.tests.factories import post_by_agent, post_by_human
from village.tick import tick_advance
from world.engine.output import TickOutput
from world.models import InputLog


def _reply_event(agent_index, post, body="Count me in."):
    """An answer to a reply names the post by id; an answer to a known post by its ref."""
    target = {"post": post} if isinstance(post, str) else {"post_id": post}
    return {
        "seq": 0,
        "kind": "board.agent_reply",
        "agent": agent_index,
        "location": None,
        "activity": None,
        "data": {**target, "body": body},
    }


def _ticks(world, n):
    for _ in range(n):
        assert tick_advance(world_id=world.id) is not None


def test_an_agent_reads_a_humans_reply_remembers_it_and_answers_on_the_board(world, django_user_model):
    hana = django_user_model.objects.create_user("hana", password="pw")
    agent = world.agents.order_by("id").first()
    post = post_by_agent(agent, title="Seeds for the garden")
    reply_create(principal=hana, post=post, body="I have tomato seeds to spare.")

    _ticks(world, 2)  # the agent reads the reply; its answer comes back and is written

    memory = Memory.objects.get(agent=agent, text__startswith="hana replied")
    assert memory.text == 'hana replied to my board post "Seeds for the garden": I have tomato seeds to spare.'
    answer = Reply.objects.get(post=post, author_agent=agent)
    assert "hana" in answer.body and "tomato seeds" in answer.body
    assert answer.created_tick == 1
    assert list(post.replies.order_by("id").values_list("author_user__username", "author_agent_id")) == [
        ("hana", None),
        (None, agent.id),
    ]
    assert Memory.objects.filter(agent=agent, text=f"I replied on the board: {answer.body}").exists()
    # The agent answered on its own post: nobody else is told, so the thread stops here.
    assert not InputLog.objects.filter(kind="board.reply", payload__reply_id=answer.id).exists()


@pytest.mark.parametrize("action", ["lock", "hide", "close"])
def test_an_answer_to_a_post_that_stopped_taking_replies_is_not_written(world, django_user_model, action):
    hana = django_user_model.objects.create_user("hana", password="pw")
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    agent = world.agents.order_by("id").first()
    post = post_by_agent(agent)
    reply_create(principal=hana, post=post, body="Happy to help on Sunday.")
    _ticks(world, 1)  # the agent reads the reply and asks the model for an answer
    post_moderate(actor=admin, post=post, action=action)

    _ticks(world, 1)

    assert Memory.objects.filter(agent=agent, text__contains="Happy to help on Sunday").exists()
    assert not Reply.objects.filter(post=post, author_agent=agent).exists()
    assert Memory.objects.filter(agent=agent, text__startswith="I replied on the board").exists(), (
        "the agent did answer; the board refused to write it"
    )


def test_the_ticks_agent_replies_go_only_where_the_agent_may_reply(
    agent_a, agent_b, human, django_assert_max_num_queries
):
    world = agent_a.world
    open_post = post_by_agent(agent_b, title="Lost cat", ref="7-2")
    locked = post_by_agent(agent_b, locked=True)
    moderated = post_by_agent(agent_b, hidden=True, status=Post.Status.MODERATED)
    for_someone_else = post_by_human(world, human, audience=Post.Audience.AGENT, audience_agent=agent_b)
    for_humans = post_by_human(world, human, audience=Post.Audience.HUMANS)
    for_me = post_by_human(world, human, audience=Post.Audience.AGENT, audience_agent=agent_a)
    events = [
        _reply_event(0, "7-2"),
        *(_reply_event(0, p.id) for p in (locked, moderated, for_someone_else, for_humans, for_me)),
        _reply_event(0, 999_999),
        _reply_event(0, "8-1"),
        _reply_event(1, open_post.id, "It is mine."),
    ]
    out = TickOutput.of_events(30, events)

    with django_assert_max_num_queries(4):
        board_replies_from_tick(world, out, [agent_a.id, agent_b.id])

    written = list(Reply.objects.order_by("id").values_list("post_id", "author_agent_id", "body", "created_tick"))
    assert written == [
        (open_post.id, agent_a.id, "Count me in.", 30),
        (for_me.id, agent_a.id, "Count me in.", 30),
        (open_post.id, agent_b.id, "It is mine.", 30),
    ]
    # Only the other agent's reply reaches the post's author (an agent); the author's own does not.
    reply = Reply.objects.get(post=open_post, author_agent=agent_a)
    told = InputLog.objects.get(kind="board.reply")
    assert told.payload == {
        "agent_id": agent_b.id,
        "author": agent_a.name,
        "author_agent_id": agent_a.id,
        "text": "Count me in.",
        "title": "Lost cat",
        "post_id": open_post.id,
        "reply_id": reply.id,
        "tick": 30,
    }


def test_an_agent_remembers_another_agents_reply_and_knows_who_wrote_it(world):
    author, replier = world.agents.order_by("id")[:2]
    post = post_by_agent(author, title="Lost cat")
    out = TickOutput.of_events(world.tick, [_reply_event(1, post.id, "I saw it by the mill.")])
    board_replies_from_tick(world, out, [author.id, replier.id])

    tick_advance(world_id=world.id, dispatch_jobs=False)

    memory = Memory.objects.get(agent=author, text__contains="by the mill")
    assert memory.text == f'{replier.name} replied to my board post "Lost cat": I saw it by the mill.'
    assert memory.about_agent_id == replier.id
