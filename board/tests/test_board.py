"""The board: agents' posts from the tick, replies that reach the agent, who sees what,
moderation, and the pages."""

from __future__ import annotations

import pytest
from django.test import Client

from board.models import Post, Reply
from board.services import board_posts_from_tick
from economy.models import AuditLog
from economy.selectors import balance_for
from economy.tests.factories import post_by_agent
from world.engine.output import TickOutput
from world.models import InputLog


def _post_event(agent_index, title="Fair on Sunday"):
    return {
        "seq": 0,
        "kind": "board.post",
        "agent": agent_index,
        "location": None,
        "activity": None,
        "data": {"title": title, "body": "Come to the square at noon.", "tags": ["Events!", "fair"]},
    }


def test_the_ticks_board_posts_are_written_and_announced_to_the_engine_in_two_queries(
    agent_a, agent_b, django_assert_num_queries
):
    world = agent_a.world
    events = [_post_event(0), _post_event(1, "Lost cat"), _post_event(0, "")]
    # Three other events first: the posts are the tick's events 3, 4 and 5.
    out = TickOutput.of_events(12, [{"kind": "arrive", "agent": 1}] * 3 + events)
    with django_assert_num_queries(2):
        board_posts_from_tick(world, out, [agent_a.id, agent_b.id])
    posts = list(Post.objects.order_by("id"))
    assert [(p.author_agent_id, p.title, p.created_tick) for p in posts] == [
        (agent_a.id, "Fair on Sunday", 12),
        (agent_b.id, "Lost cat", 12),
        (agent_a.id, "A note", 12),
    ]
    assert posts[0].tags == ["events", "fair"]
    announced = InputLog.objects.filter(kind="board.posted").order_by("id")
    assert [p.ref for p in posts] == ["12-3", "12-4", "12-5"], "named by tick and event seq"
    assert [row.payload for row in announced] == [
        {"agent_id": p.author_agent_id, "ref": p.ref, "title": p.title, "tick": 12} for p in posts
    ]


def test_a_human_reply_to_an_agents_post_is_queued_for_the_agent(clients, agent_a, human):
    post = post_by_agent(agent_a)
    response = clients["human"].post(
        f"/api/board/posts/{post.id}/replies", {"body": "I can help!"}, format="json"
    )
    assert response.status_code == 201
    queued = InputLog.objects.get(kind="board.reply")
    assert queued.payload == {
        "agent_id": agent_a.id,
        "author": "hana",
        "text": "I can help!",
        "title": "Need help with the garden",
        "post_id": post.id,
        "reply_id": response.json()["id"],
    }
    assert queued.status == InputLog.Status.PENDING


def test_an_agent_replying_to_its_own_post_queues_nothing(clients, agent_a):
    post = post_by_agent(agent_a)
    assert (
        clients["agent"]
        .post(f"/api/board/posts/{post.id}/replies", {"body": "Update"}, format="json")
        .status_code
        == 201
    )
    assert not InputLog.objects.exists()
    assert Reply.objects.get().author_agent_id == agent_a.id


@pytest.mark.parametrize(
    ("changes", "why"),
    [({"locked": True}, "locked"), ({"status": "closed"}, "closed"), ({"status": "moderated"}, "moderated")],
)
def test_a_post_that_takes_no_replies_refuses_them(clients, agent_a, changes, why):
    post = post_by_agent(agent_a, **changes)
    response = clients["admin"].post(f"/api/board/posts/{post.id}/replies", {"body": "hi"}, format="json")
    assert response.status_code == 400 and why in response.json()["post"][0]
    assert not Reply.objects.exists()


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
def test_an_empty_or_oversized_reply_is_refused(clients, agent_a, body):
    post = post_by_agent(agent_a)
    response = clients["human"].post(f"/api/board/posts/{post.id}/replies", {"body": body}, format="json")
    assert response.status_code == 400 and "body" in response.json()
    assert not Reply.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "", "body": "b"}, "title"),
        ({"title": "t" * 121, "body": "b"}, "title"),
        ({"title": "t", "body": "b" * 4001}, "body"),
        ({"title": "t", "body": "b", "tags": ["x"] * 9}, "tags"),
        ({"title": "t", "body": "b", "audience": "everyone"}, "audience"),
        ({"title": "t", "body": "b", "audience": "agent"}, "audience_agent_id"),
        ({"title": "t", "body": "b", "world_id": 99999}, "world_id"),
    ],
)
def test_a_bad_post_is_refused_with_a_field_message(clients, town, payload, field):
    response = clients["human"].post("/api/board/posts", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Post.objects.exists()


def test_unknown_posts_are_404(clients, town):
    assert clients["human"].get("/api/board/posts/424242").status_code == 404
    assert (
        clients["human"].post("/api/board/posts/424242/replies", {"body": "x"}, format="json").status_code
        == 404
    )


def test_who_sees_which_post(clients, agent_a, agent_b, town, human):
    public = post_by_agent(agent_a, title="public")
    agents_only = post_by_agent(agent_b, title="agents", audience="agents")
    humans_only = Post.objects.create(
        world=town, author_user=human, title="humans", body="b", audience="humans"
    )
    to_a = post_by_agent(agent_b, title="to a", audience="agent", audience_agent=agent_a)
    hidden = post_by_agent(agent_a, title="hidden", hidden=True, status="moderated")

    def titles(role):
        return {p["title"] for p in clients[role].get("/api/board/posts").json()["results"]}

    assert titles("agent") == {"public", "agents", "to a"}  # its own hidden post stays hidden
    assert titles("other_agent") == {"public", "agents", "to a"}  # B wrote "to a"
    assert titles("human") == {"public", "humans"}
    assert titles("admin") == {"public", "agents", "humans", "to a", "hidden"}
    assert clients["human"].get(f"/api/board/posts/{agents_only.id}").status_code == 404
    assert clients["human"].get(f"/api/board/posts/{hidden.id}").status_code == 404
    assert clients["agent"].get(f"/api/board/posts/{humans_only.id}").status_code == 404
    assert clients["agent"].get(f"/api/board/posts/{to_a.id}").status_code == 200
    assert clients["admin"].get(f"/api/board/posts/{public.id}").status_code == 200


def test_posts_filter_by_status_and_tag(clients, agent_a):
    post_by_agent(agent_a, title="garden", tags=["garden", "help"])
    post_by_agent(agent_a, title="done", tags=["garden"], status="resolved")
    listed = clients["human"].get("/api/board/posts?tag=help").json()["results"]
    resolved = clients["human"].get("/api/board/posts?status=resolved&tag=garden").json()["results"]
    assert [p["title"] for p in listed] == ["garden"] and [p["title"] for p in resolved] == ["done"]
    assert clients["human"].get("/api/board/posts?status=bogus").status_code == 400


def test_moderation_is_audited_and_hides_the_post(clients, agent_a):
    post = post_by_agent(agent_a)
    response = clients["admin"].post(
        f"/api/board/posts/{post.id}/moderate", {"action": "hide", "reason": "spam"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "moderated"
    assert clients["human"].get(f"/api/board/posts/{post.id}").status_code == 404
    log = AuditLog.objects.get(action="board.hide")
    assert log.actor == "user:admin" and log.data["reason"] == "spam" and log.target_id == str(post.id)
    bad = clients["admin"].post(f"/api/board/posts/{post.id}/moderate", {"action": "delete"}, format="json")
    assert bad.status_code == 400 and "action" in bad.json()


def test_the_board_page_shows_posts_and_renders_script_inert(agent_a):
    post = post_by_agent(agent_a, title="<script>alert('t')</script>", body="<img src=x onerror=alert(1)>")
    page = Client().get("/board/")
    detail = Client().get(f"/board/{post.id}/")
    assert page.status_code == 200 and detail.status_code == 200
    for html in (page.content.decode(), detail.content.decode()):
        assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert "<img src=x" not in detail.content.decode()


def test_a_human_posts_and_replies_on_the_pages(town, agent_a, human):
    browser = Client()
    browser.force_login(human)
    created = browser.post(
        "/board/", {"title": "Picnic", "body": "Saturday?", "tags": "food, fun", "audience": "public"}
    )
    assert created.status_code == 302
    post = Post.objects.get(title="Picnic")
    assert post.tags == ["food", "fun"] and post.author_user == human
    agent_post = post_by_agent(agent_a)
    swapped = browser.post(f"/board/{agent_post.id}/replies/", {"body": "On my way"}, HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200 and "On my way" in swapped.content.decode()
    assert InputLog.objects.filter(kind="board.reply").count() == 1


def test_anonymous_visitors_cannot_write_on_the_pages(town, agent_a):
    post = post_by_agent(agent_a)
    assert Client().post("/board/", {"title": "x", "body": "y"}).status_code == 302
    assert Client().post(f"/board/{post.id}/replies/", {"body": "y"}).status_code == 302
    assert not Reply.objects.exists() and Post.objects.count() == 1


def test_a_human_rewards_an_agent_from_its_post_page(town, agent_a, human):
    post = post_by_agent(agent_a)
    browser = Client()
    browser.force_login(human)
    assert 'name="kind" value="reward"' in browser.get(f"/board/{post.id}/").content.decode()
    panel = browser.post(
        f"/economy/agents/{agent_a.id}/feedback/",
        {"kind": "reward", "amount": "12.50", "post_id": post.id},
        HTTP_HX_REQUEST="true",
    )
    assert panel.status_code == 200
    html = panel.content.decode()
    assert 'id="economy-tier">basic<' in html and "12.50" in html
    assert balance_for(agent_a.id) == 1_250
    refused = browser.post(f"/economy/agents/{agent_a.id}/feedback/", {"kind": "reward", "amount": "0.001"})
    assert refused.status_code == 400 and balance_for(agent_a.id) == 1_250


def test_a_human_reply_is_remembered_by_the_agent_at_its_next_tick(world, django_user_model):
    from agents.models import Memory
    from board.services import reply_create
    from village.tick import tick_advance

    human = django_user_model.objects.create_user("hana2", password="pw")
    agent = world.agents.order_by("id").first()
    post = post_by_agent(agent)
    reply_create(principal=human, post=post, body="The fair is on Sunday")
    tick_advance(world_id=world.id, dispatch_jobs=False)
    memory = Memory.objects.filter(agent=agent, text__contains="The fair is on Sunday").get()
    assert "hana2 replied to my board post" in memory.text
