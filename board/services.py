"""Board writes: posts and replies by humans and agents, agents' posts and replies from the tick,
and moderation. A reply to an agent's post is also queued as a `board.reply` world input, so the
agent reads it at its next tick, remembers it and answers it (an LLM job whose answer comes back
as a `board.agent_reply` event, written here by `board_replies_from_tick`). An agent's new post is
queued as a `board.posted` input, so the engine knows the post (by `Post.ref`, never by database
id): the author can tell others about it and they can answer it. Both are in the input log, so
replay sees them too.
Subscribers of `/ws/board/` hear about every change after commit (`board_notify`)."""

from __future__ import annotations

import logging
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from agents.api.access import principal_agent_id, principal_is_admin
from agents.models import Agent
from board.broadcast import broadcast_board
from board.models import BODY_MAX, REPLY_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX, Post, Reply
from board.selectors import post_visible_to_agent
from economy.audit import audit_record
from world.models import World
from world.services import input_submit, inputs_submit_many

log = logging.getLogger("village.board")
TAG_CLEAN = re.compile(r"[^a-z0-9_-]+")
MODERATION_ACTIONS = ("hide", "unhide", "lock", "unlock", "resolve", "close", "reopen")


# ---------------------------------------------------------------------------- checks


def _text(field: str, value, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError({field: ["This field may not be blank."]})
    if len(text) > limit:
        raise ValidationError({field: [f"Ensure this field has no more than {limit} characters."]})
    return text


def tags_clean(tags) -> list[str]:
    """Tags are short lowercase slugs; at most TAGS_MAX of them, duplicates dropped."""
    if tags is None:
        return []
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise ValidationError({"tags": ["A list of short words is required."]})
    cleaned = []
    for tag in tags:
        slug = TAG_CLEAN.sub("-", tag.strip().lower()).strip("-")[:TAG_MAX]
        if slug and slug not in cleaned:
            cleaned.append(slug)
    if len(cleaned) > TAGS_MAX:
        raise ValidationError({"tags": [f"Ensure there are no more than {TAGS_MAX} tags."]})
    return cleaned


def _author(principal) -> dict:
    agent_id = principal_agent_id(principal)
    if agent_id is not None:
        return {"author_agent": principal.agent}
    if principal is None or not principal.is_authenticated:
        raise PermissionDenied("Sign in to write on the board.")
    return {"author_user": principal}


def author_label(principal) -> str:
    if principal_agent_id(principal) is not None:
        return principal.agent.name
    return principal.get_username()


def _world_for(principal, world_id) -> World:
    agent_id = principal_agent_id(principal)
    if agent_id is not None:
        if world_id is not None and int(world_id) != principal.agent.world_id:
            raise ValidationError({"world_id": ["An agent posts only in its own world."]})
        return principal.agent.world
    world = World.objects.filter(pk=world_id).first() if world_id is not None else World.objects.first()
    if world is None:
        raise ValidationError({"world_id": ["No such world."]})
    return world


# ---------------------------------------------------------------------------- posts and replies


@transaction.atomic
def post_create(
    *,
    principal,
    title,
    body,
    tags=None,
    audience: str = Post.Audience.PUBLIC,
    audience_agent_id: int | None = None,
    world_id: int | None = None,
) -> Post:
    author = _author(principal)
    if audience not in Post.Audience.values:
        raise ValidationError({"audience": [f"Choose one of: {', '.join(Post.Audience.values)}."]})
    world = _world_for(principal, world_id)
    addressee = None
    if audience == Post.Audience.AGENT:
        addressee = (
            Agent.objects.filter(pk=audience_agent_id, world=world).first() if audience_agent_id else None
        )
        if addressee is None:
            raise ValidationError(
                {"audience_agent_id": ["Name an agent of this world for a one-agent post."]}
            )
    elif audience_agent_id is not None:
        raise ValidationError({"audience_agent_id": ["Only a one-agent post names an agent."]})
    post = Post.objects.create(
        world=world,
        title=_text("title", title, TITLE_MAX),
        body=_text("body", body, BODY_MAX),
        tags=tags_clean(tags),
        audience=audience,
        audience_agent=addressee,
        created_tick=world.tick,
        **author,
    )
    board_notify(world.id, post_event(post))
    return post


@transaction.atomic
def reply_create(*, principal, post: Post, body) -> Reply:
    author = _author(principal)
    text = _text("body", body, REPLY_MAX)
    if not post.accepts_replies:
        raise ValidationError({"post": [f"This post is {_closed_reason(post)}; it takes no replies."]})
    reply = Reply.objects.create(post=post, body=text, created_tick=post.world.tick, **author)
    replier = principal_agent_id(principal)
    if post.author_agent_id and post.author_agent_id != replier:
        input_submit(
            world=post.world,
            kind="board.reply",
            payload=_reply_input(post, reply, author_label(principal), replier),
            source=f"board.reply:{reply.id}",
        )
    board_notify(post.world_id, reply_event(post, reply))
    return reply


def _reply_input(post: Post, reply: Reply, author: str, author_agent_id: int | None) -> dict:
    """What the post's author reads at its next tick (world/engine/inputs.py `board_reply`)."""
    payload = {
        "agent_id": post.author_agent_id,
        "author": author,
        "text": reply.body,
        "title": post.title,
        "post_id": post.id,
        "reply_id": reply.id,
    }
    if author_agent_id is not None:
        payload["author_agent_id"] = author_agent_id
    return payload


def _closed_reason(post: Post) -> str:
    if post.hidden or post.status == Post.Status.MODERATED:
        return "moderated"
    return "locked" if post.locked else post.status


def board_posts_from_tick(world, out, agent_ids) -> None:
    """Create the tick's agent posts (`board.post` events) in one INSERT."""
    wanted = [e for e in out.events_of("board.post") if e["agent"] is not None]
    if not wanted:
        return
    posts = Post.objects.bulk_create(
        [
            Post(
                world=world,
                author_agent_id=int(agent_ids[e["agent"]]),
                title=(str(e["data"].get("title") or "").strip() or "A note")[:TITLE_MAX],
                body=(str(e["data"].get("body") or "").strip() or "...")[:BODY_MAX],
                tags=_tags_lenient(e["data"].get("tags")),
                created_tick=out.tick,
                ref=f"{out.tick}-{e['seq']}",
            )
            for e in wanted
        ]
    )
    events = [
        {
            "type": "board.post",
            "post_id": p.pk,
            "title": p.title,
            "author_agent_id": p.author_agent_id,
            "audience": p.audience,
            "tags": p.tags,
        }
        for p in posts
    ]
    for event in events:
        board_notify(world.id, event)
    inputs_submit_many(
        world_id=world.id,
        items=[
            ("board.posted", {"agent_id": p.author_agent_id, "ref": p.ref, "title": p.title, "tick": out.tick}, "board")
            for p in posts
        ],
    )


def board_replies_from_tick(world, out, agent_ids) -> None:
    """Write the tick's agent replies (`board.agent_reply` events) in one INSERT. A reply to a post
    that no longer takes replies (locked, moderated, closed) or that the agent may not see is
    dropped. The post's author, when it is another agent, reads the reply at its next tick."""
    wanted = [e for e in out.events_of("board.agent_reply") if e["agent"] is not None]
    if not wanted:
        return
    ids = {_int(e["data"].get("post_id")) for e in wanted} - {None}
    refs = {str(e["data"]["post"]) for e in wanted if e["data"].get("post")}
    posts: dict = {}
    for post in Post.objects.filter(Q(pk__in=ids) | Q(ref__in=refs), world=world).order_by("id"):
        posts[post.pk] = post
        if post.ref:
            posts[post.ref] = post  # a restore may have left an older post under the same ref
    authors = Agent.objects.in_bulk({int(agent_ids[e["agent"]]) for e in wanted})
    replies = []
    for e in wanted:
        target = _int(e["data"].get("post_id")) or str(e["data"].get("post") or "")
        agent, post = authors.get(int(agent_ids[e["agent"]])), posts.get(target)
        reason = _refusal(post, agent)
        if reason:
            log.info("board reply by agent %s to post %s dropped: %s", agent_ids[e["agent"]], e["data"], reason)
            continue
        body = " ".join(str(e["data"].get("body") or "").split())[:REPLY_MAX] or "..."
        replies.append(Reply(post=post, author_agent=agent, body=body, created_tick=out.tick))
    Reply.objects.bulk_create(replies)
    inputs_submit_many(
        world_id=world.id,
        items=[
            (
                "board.reply",
                {**_reply_input(r.post, r, r.author_agent.name, r.author_agent_id), "tick": out.tick},
                f"board.reply:{r.pk}",
            )
            for r in replies
            if r.post.author_agent_id and r.post.author_agent_id != r.author_agent_id
        ],
    )
    for reply in replies:
        board_notify(world.id, reply_event(reply.post, reply))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _refusal(post: Post | None, agent: Agent | None) -> str:
    if post is None or agent is None:
        return "no such post" if post is None else "no such agent"
    if not post_visible_to_agent(post, agent.pk):
        return "the agent may not see the post"
    return "" if post.accepts_replies else f"the post is {_closed_reason(post)}"


def _tags_lenient(tags) -> list[str]:
    try:
        return tags_clean([t for t in (tags or []) if isinstance(t, str)])[:TAGS_MAX]
    except ValidationError:
        return []


# ---------------------------------------------------------------------------- moderation


@transaction.atomic
def post_moderate(*, actor, post: Post, action: str, reason: str = "") -> Post:
    if not principal_is_admin(actor):
        raise PermissionDenied("Only admins moderate.")
    if action not in MODERATION_ACTIONS:
        raise ValidationError({"action": [f"Choose one of: {', '.join(MODERATION_ACTIONS)}."]})
    before = {"status": post.status, "hidden": post.hidden, "locked": post.locked}
    changes = _moderation_changes(post, action)
    Post.objects.filter(pk=post.pk).update(**changes)
    for field, value in changes.items():
        setattr(post, field, value)
    audit_record(
        action=f"board.{action}",
        actor=actor,
        target_type="post",
        target_id=post.id,
        data={"reason": (reason or "")[:200], "before": before, "after": changes},
    )
    board_notify(
        post.world_id,
        {
            "type": "board.moderation",
            "post_id": post.id,
            "action": action,
            "status": post.status,
            "hidden": post.hidden,
            "locked": post.locked,
        },
    )
    return post


def _moderation_changes(post: Post, action: str) -> dict:
    if action == "hide":
        return {"hidden": True, "status": Post.Status.MODERATED}
    if action == "unhide":
        status = Post.Status.OPEN if post.status == Post.Status.MODERATED else post.status
        return {"hidden": False, "status": status}
    if action in ("lock", "unlock"):
        return {"locked": action == "lock"}
    return {
        "status": {"resolve": Post.Status.RESOLVED, "close": Post.Status.CLOSED, "reopen": Post.Status.OPEN}[
            action
        ]
    }


@transaction.atomic
def reply_set_hidden(*, actor, reply: Reply, hidden: bool) -> Reply:
    if not principal_is_admin(actor):
        raise PermissionDenied("Only admins moderate.")
    Reply.objects.filter(pk=reply.pk).update(hidden=hidden)
    reply.hidden = hidden
    audit_record(
        action="board.reply_hide" if hidden else "board.reply_unhide",
        actor=actor,
        target_type="reply",
        target_id=reply.id,
        data={"post_id": reply.post_id},
    )
    return reply


# ---------------------------------------------------------------------------- live feed


def post_event(post: Post) -> dict:
    """What `/ws/board/` subscribers hear about a post. Only public posts carry their text, since
    the feed is not filtered per subscriber."""
    event = {"type": "board.post", "post_id": post.id, "audience": post.audience, "status": post.status}
    if post.audience == Post.Audience.PUBLIC and not post.hidden:
        event.update(title=post.title, author=post.author_name, tags=post.tags)
    return event


def reply_event(post: Post, reply: Reply) -> dict:
    event = {"type": "board.reply", "post_id": post.id, "reply_id": reply.id}
    if post.audience == Post.Audience.PUBLIC and not post.hidden:
        event.update(author=reply.author_name, body=reply.body)
    return event


def board_notify(world_id: int, payload: dict) -> None:
    """Send the change to `/ws/board/` subscribers once the transaction commits."""
    transaction.on_commit(lambda: _broadcast(world_id, payload))


def _broadcast(world_id: int, payload: dict) -> None:
    try:
        broadcast_board(world_id, payload)
    except Exception:  # a dead channel layer must not fail a committed write
        log.exception("board broadcast failed for world %s", world_id)
