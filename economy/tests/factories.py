"""Small builders for board and economy rows in tests."""

from __future__ import annotations

from board.models import Post
from economy.models import LedgerEntry


def post_by_agent(agent, **fields) -> Post:
    defaults = {"title": "Need help with the garden", "body": "Anyone free on Sunday?", "tags": ["help"]}
    return Post.objects.create(world_id=agent.world_id, author_agent=agent, **{**defaults, **fields})


def post_by_human(world, user, **fields) -> Post:
    defaults = {"title": "Hello village", "body": "A human says hi."}
    return Post.objects.create(world=world, author_user=user, **{**defaults, **fields})


def credit(agent, cents: int) -> LedgerEntry:
    return LedgerEntry.objects.create(agent=agent, amount=cents, reason="deposit_credit", source="system")
