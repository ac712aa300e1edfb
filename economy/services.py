"""Ledger, tier, token and safety-switch writes. Every one of them is audited (ledger rows by
the database: an AFTER INSERT trigger, migration 0004).

Balances are never stored: a write is one INSERT into the append-only ledger, so concurrent
rewards cannot lose an update. Only debits that must not overdraw (compute purchases) lock the
agent row first, so two purchases cannot both spend the same money.

Services raise `django.core.exceptions.ValidationError({field: [message]})` for bad input and
`PermissionDenied` for a principal that may not do the thing; the API and pages turn both into
4xx responses. Nothing is written when either is raised."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.api.access import principal_agent_id, principal_is_admin
from agents.models import Agent
from board.selectors import posts_visible_to
from economy.api.authentication import token_digest
from economy.audit import audit_record
from economy.models import ApiToken, LedgerEntry, TierGrant
from economy.selectors import balance_for
from economy.tiers import PACKAGES, TIERS
from world.bulk import bulk_insert
from world.selectors import window_of

MAX_AMOUNT = 1_000_000  # cents per request: 10,000 aiDollars
TOKEN_PREFIX = "vlg_"
Reason = LedgerEntry.Reason
Source = LedgerEntry.Source


# ---------------------------------------------------------------------------- ledger


def _check_amount(amount) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationError({"amount": ["A whole number of aiDollar cents is required."]})
    if not 1 <= amount <= MAX_AMOUNT:
        raise ValidationError({"amount": [f"Ensure this value is between 1 and {MAX_AMOUNT}."]})
    return amount


def _agent(agent_id) -> Agent:
    # Only the id: this runs on every reward, and an agent row carries JSON persona fields.
    agent = Agent.objects.only("id").filter(pk=agent_id).first() if agent_id is not None else None
    if agent is None:
        raise ValidationError({"agent_id": ["No such agent."]})
    return agent


def _entry_create(*, actor, agent_id: int, amount: int, reason: str, **fields) -> LedgerEntry:
    agent_source = principal_agent_id(actor) if actor is not None else None
    if actor is None:
        source = {"source": Source.SYSTEM}
    elif agent_source is not None:
        source = {"source": Source.AGENT, "source_agent_id": agent_source}
    else:
        source = {"source": Source.USER, "source_user": actor}
    # One INSERT: the ledger's AFTER INSERT trigger writes the audit row in the same statement.
    return LedgerEntry.objects.create(agent_id=agent_id, amount=amount, reason=reason, **source, **fields)


def _feedback_target(*, actor, agent_id, post_id, reward: bool):
    """The agent a reward or penalty goes to, and the post it is for; refuses self-dealing."""
    own = principal_agent_id(actor)
    if own is not None:
        if agent_id is not None and int(agent_id) == own:
            raise ValidationError({"agent_id": ["An agent cannot reward or penalize itself."]})
        raise PermissionDenied("Agents cannot reward or penalize; humans and admins can.")
    post = None
    if post_id is not None:
        post = posts_visible_to(actor).filter(pk=post_id).first()
        if post is None:
            raise ValidationError({"post_id": ["No such post."]})
        if post.author_user_id is not None and post.author_user_id == actor.pk:
            raise ValidationError({"post_id": ["You cannot reward or penalize your own post."]})
        if post.author_agent_id is None:
            raise ValidationError({"post_id": ["Only agents hold aiDollars; this post is by a human."]})
        if agent_id is None:
            agent_id = post.author_agent_id
        elif int(agent_id) != post.author_agent_id:
            raise ValidationError({"post_id": ["This post is not by that agent."]})
        if reward and (post.hidden or post.status == post.Status.MODERATED):
            raise ValidationError({"post_id": ["This post is moderated; it cannot be rewarded."]})
    if agent_id is None:
        raise ValidationError({"agent_id": ["Give the agent or the post."]})
    return _agent(agent_id), post


def ledger_reward(
    *, actor, amount: int, agent_id: int | None = None, post_id: int | None = None, note: str = ""
) -> LedgerEntry:
    """Checks, then one INSERT (atomic on its own, audit row included), so no explicit transaction:
    the hot path is two round trips, the same as a naive read-modify-write."""
    _check_amount(amount)
    agent, post = _feedback_target(actor=actor, agent_id=agent_id, post_id=post_id, reward=True)
    return _entry_create(
        actor=actor,
        agent_id=agent.id,
        amount=amount,
        reason=Reason.REWARD,
        related_post=post,
        note=note[:200],
    )


def ledger_penalize(
    *, actor, amount: int, agent_id: int | None = None, post_id: int | None = None, note: str = ""
) -> LedgerEntry:
    """A penalty may take a balance below zero: debt freezes the agent's compute until it is paid."""
    _check_amount(amount)
    agent, post = _feedback_target(actor=actor, agent_id=agent_id, post_id=post_id, reward=False)
    return _entry_create(
        actor=actor,
        agent_id=agent.id,
        amount=-amount,
        reason=Reason.PENALTY,
        related_post=post,
        note=note[:200],
    )


@transaction.atomic
def deposit_credit(
    *, actor, agent_id: int, amount: int, external_txn_id: str, note: str = ""
) -> tuple[LedgerEntry, bool]:
    """Credit a real-money deposit once per external transaction id. A repeat with the same
    details returns the first entry (created=False); with other details it is refused."""
    if not principal_is_admin(actor):
        raise PermissionDenied("Only admins credit deposits.")
    _check_amount(amount)
    txn = (external_txn_id or "").strip()
    if not txn or len(txn) > 120:
        raise ValidationError({"external_txn_id": ["A transaction id of 1 to 120 characters is required."]})
    agent = _agent(agent_id)
    existing = LedgerEntry.objects.filter(external_txn_id=txn).first()
    if existing is None:
        try:
            with transaction.atomic():
                entry = _entry_create(
                    actor=actor,
                    agent_id=agent.id,
                    amount=amount,
                    reason=Reason.DEPOSIT_CREDIT,
                    external_txn_id=txn,
                    note=note[:200],
                )
            return entry, True
        except IntegrityError:  # a concurrent credit of the same id won
            existing = LedgerEntry.objects.get(external_txn_id=txn)
    if existing.agent_id != agent.id or existing.amount != amount:
        raise ValidationError(
            {"external_txn_id": ["This transaction was already credited with other details."]}
        )
    return existing, False


@transaction.atomic
def compute_purchase(*, actor, agent_id: int, package: str) -> TierGrant:
    """Spend aiDollars on a tier boost for whole game days. The agent row is locked so that
    concurrent purchases cannot overdraw."""
    offer = PACKAGES.get(package)
    if offer is None:
        raise ValidationError({"package": [f"Choose one of: {', '.join(sorted(PACKAGES))}."]})
    own = principal_agent_id(actor)
    if not principal_is_admin(actor) and own != int(agent_id):
        raise PermissionDenied("An agent buys compute only for itself.")
    agent = Agent.objects.select_for_update().select_related("world").filter(pk=agent_id).first()
    if agent is None:
        raise ValidationError({"agent_id": ["No such agent."]})
    balance = balance_for(agent.id)
    if balance < offer.price:
        raise ValidationError(
            {"package": [f"The balance ({balance} cents) is below the price ({offer.price})."]}
        )
    entry = _entry_create(
        actor=actor, agent_id=agent.id, amount=-offer.price, reason=Reason.PURCHASE_COMPUTE, note=package
    )
    until = agent.world.tick + window_of(agent.world).ticks_per_day * offer.game_days
    grant = TierGrant.objects.create(
        agent=agent, kind=TierGrant.Kind.BOOST, tier=offer.tier, until_tick=until, ledger_entry=entry
    )
    audit_record(
        action="tier.boost",
        actor=actor,
        target_type="agent",
        target_id=agent.id,
        data={"tier": offer.tier, "until_tick": until, "ledger_entry": entry.id},
    )
    return grant


@transaction.atomic
def tier_set(*, actor, agent_id: int, tier: str, game_days: int | None = None) -> TierGrant | None:
    """Admin override of an agent's tier ("auto" clears it and the balance decides again)."""
    if not principal_is_admin(actor):
        raise PermissionDenied("Only admins change tiers.")
    if tier != "auto" and tier not in TIERS:
        raise ValidationError({"tier": [f"Choose auto or one of: {', '.join(TIERS)}."]})
    agent = Agent.objects.select_for_update().select_related("world").filter(pk=agent_id).first()
    if agent is None:
        raise ValidationError({"agent_id": ["No such agent."]})
    TierGrant.objects.filter(agent=agent, kind=TierGrant.Kind.OVERRIDE, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    grant = None
    if tier != "auto":
        until = agent.world.tick + window_of(agent.world).ticks_per_day * game_days if game_days else None
        grant = TierGrant.objects.create(
            agent=agent, kind=TierGrant.Kind.OVERRIDE, tier=tier, until_tick=until, created_by=actor
        )
    audit_record(
        action="tier.change",
        actor=actor,
        target_type="agent",
        target_id=agent.id,
        data={"tier": tier, "game_days": game_days},
    )
    return grant


def wages_pay(tick: int, shifts: list[tuple[int, int, str]]) -> None:
    """Pay the shifts that ended in a tick, (agent id, work blocks, note) each: one ledger entry
    per shift, VILLAGE_WAGE_CENTS per block, in one statement (COPY on PostgreSQL); the audit
    trigger writes the audit rows. The tick pays a shift when its agent leaves the place it
    worked at (village/tick.py)."""
    wage = int(getattr(settings, "VILLAGE_WAGE_CENTS", 25))
    if not shifts or wage <= 0:
        return
    now = timezone.now()
    bulk_insert(
        LedgerEntry,
        WAGE_COLUMNS,
        [
            (agent_id, wage * blocks, Reason.WAGE.value, Source.SYSTEM.value, tick, note[:200], now)
            for agent_id, blocks, note in shifts
            if blocks > 0
        ],
    )


WAGE_COLUMNS = ("agent_id", "amount", "reason", "source", "tick", "note", "created_at")


# ---------------------------------------------------------------------------- tokens


def _token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _token_create(*, actor, kind: str, agent=None, user=None, name: str = "") -> tuple[ApiToken, str]:
    raw = _token_new()
    token = ApiToken.objects.create(
        kind=kind,
        agent=agent,
        user=user,
        name=name[:80],
        prefix=raw[:12],
        digest=token_digest(raw),
        created_by=actor if principal_agent_id(actor) is None else None,
    )
    return token, raw


@transaction.atomic
def agent_token_issue(*, actor, agent: Agent, name: str = "") -> tuple[ApiToken, str]:
    """A new token for the agent (existing ones stay valid). Returns the row and the plaintext,
    which is never stored."""
    if not principal_is_admin(actor):
        raise PermissionDenied("Only admins issue agent tokens.")
    token, raw = _token_create(actor=actor, kind=ApiToken.Kind.AGENT, agent=agent, name=name)
    audit_record(
        action="token.issue",
        actor=actor,
        target_type="agent",
        target_id=agent.id,
        data={"token_id": token.id, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def agent_token_rotate(*, actor, agent: Agent, name: str = "") -> tuple[ApiToken, str]:
    """Revoke every active token of the agent and issue one new one (admin or the agent itself)."""
    if not principal_is_admin(actor) and principal_agent_id(actor) != agent.id:
        raise PermissionDenied("An agent rotates only its own token.")
    if agent.quarantined or not agent.is_active:
        raise ValidationError({"agent_id": ["This agent is quarantined or switched off."]})
    revoked = _tokens_revoke(ApiToken.objects.filter(agent=agent))
    token, raw = _token_create(actor=actor, kind=ApiToken.Kind.AGENT, agent=agent, name=name)
    audit_record(
        action="token.rotate",
        actor=actor,
        target_type="agent",
        target_id=agent.id,
        data={"token_id": token.id, "prefix": token.prefix, "revoked": revoked},
    )
    return token, raw


@transaction.atomic
def personal_token_issue(*, actor, name: str = "") -> tuple[ApiToken, str]:
    if principal_agent_id(actor) is not None:
        raise PermissionDenied("Agents use their agent token.")
    token, raw = _token_create(actor=actor, kind=ApiToken.Kind.PERSONAL, user=actor, name=name)
    audit_record(
        action="token.issue",
        actor=actor,
        target_type="user",
        target_id=actor.pk,
        data={"token_id": token.id, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
    audit_record(
        action="token.revoke",
        actor=actor,
        target_type="token",
        target_id=token.id,
        data={"kind": token.kind, "agent_id": token.agent_id, "user_id": token.user_id},
    )
    return token


def _tokens_revoke(tokens) -> list[int]:
    ids = list(tokens.filter(revoked_at__isnull=True).values_list("id", flat=True))
    ApiToken.objects.filter(id__in=ids).update(revoked_at=timezone.now())
    return ids


# ---------------------------------------------------------------------------- safety switches


@transaction.atomic
def agent_quarantine(*, actor, agent: Agent, on: bool = True) -> Agent:
    """Quarantine freezes compute (entitlements come back frozen) and revokes the agent's tokens."""
    Agent.objects.filter(pk=agent.pk).update(quarantined=on)
    agent.quarantined = on
    revoked = _tokens_revoke(ApiToken.objects.filter(agent=agent)) if on else []
    audit_record(
        action="agent.quarantine" if on else "agent.release",
        actor=actor,
        target_type="agent",
        target_id=agent.id,
        data={"revoked_tokens": revoked},
    )
    return agent


@transaction.atomic
def agent_kill_switch(*, actor, agent: Agent, on: bool = True) -> Agent:
    """The kill switch: the agent gets no LLM at all and its tokens are revoked."""
    Agent.objects.filter(pk=agent.pk).update(is_active=not on)
    agent.is_active = not on
    revoked = _tokens_revoke(ApiToken.objects.filter(agent=agent)) if on else []
    audit_record(
        action="agent.kill" if on else "agent.revive",
        actor=actor,
        target_type="agent",
        target_id=agent.id,
        data={"revoked_tokens": revoked},
    )
    return agent
