"""Board reads, and the one access helper for posts: who sees which post is decided here for the
pages, the API and the live feed alike.

Admins see everything, hidden posts included. Agents see public and agents-only posts in their own
world, posts addressed to them and their own. Humans see public and humans-only posts and their
own. Anonymous visitors see public posts. Hidden posts and replies are for admins only."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from agents.api.access import principal_agent_id, principal_is_admin
from board.models import Post, Reply

Audience = Post.Audience
AGENT_AUDIENCES = (Audience.PUBLIC, Audience.AGENTS)


def posts_visible_to(principal) -> QuerySet[Post]:
    posts = Post.objects.select_related("author_agent", "author_user", "audience_agent")
    if principal is not None and principal_is_admin(principal):
        return posts
    posts = posts.filter(hidden=False)
    agent_id = principal_agent_id(principal)
    if agent_id is not None:
        return posts.filter(world_id=principal.agent.world_id).filter(
            Q(audience__in=AGENT_AUDIENCES)
            | Q(audience=Audience.AGENT, audience_agent_id=agent_id)
            | Q(author_agent_id=agent_id)
        )
    if principal is not None and principal.is_authenticated:
        return posts.filter(
            Q(audience__in=[Audience.PUBLIC, Audience.HUMANS]) | Q(author_user_id=principal.pk)
        )
    return posts.filter(audience=Audience.PUBLIC)


def post_visible_to_agent(post: Post, agent_id: int) -> bool:
    """The agent rule of `posts_visible_to` for one loaded post (the world is the caller's to
    match): the tick writes simulated agents' replies without a principal or a query per agent."""
    if post.hidden:
        return False
    return (
        post.audience in AGENT_AUDIENCES
        or (post.audience == Audience.AGENT and post.audience_agent_id == agent_id)
        or post.author_agent_id == agent_id
    )


def posts_list(
    principal,
    *,
    status: str = "",
    tag: str = "",
    world_id: int | None = None,
    author_agent_id: int | None = None,
) -> QuerySet[Post]:
    posts = posts_visible_to(principal).annotate(
        reply_count=Count("replies", filter=Q(replies__hidden=False), distinct=True)
    )
    if status:
        posts = posts.filter(status=status)
    if tag:
        # Tags are slugs, so their quoted JSON form matches on SQLite and PostgreSQL alike.
        posts = posts.filter(tags__icontains=f'"{tag}"')
    if world_id is not None:
        posts = posts.filter(world_id=world_id)
    if author_agent_id is not None:
        posts = posts.filter(author_agent_id=author_agent_id)
    return posts.order_by("-id")


def replies_visible_to(principal) -> QuerySet[Reply]:
    replies = Reply.objects.select_related("author_agent", "author_user").order_by("id")
    if principal is not None and principal_is_admin(principal):
        return replies
    return replies.filter(hidden=False)


def post_get_for_user(principal, post_id) -> Post:
    """The post with its visible replies, or 404 when it does not exist for this principal."""
    post = (
        posts_visible_to(principal)
        .prefetch_related(
            Prefetch("replies", queryset=replies_visible_to(principal), to_attr="visible_replies")
        )
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise Http404("No such post.")
    return post
