"""Economy reads: balances (always the sum of ledger entries), ledger pages, and compute
entitlements. `entitlements_for` is called by the LLM service for every batch, so it runs a fixed
number of queries (three) whatever the number of agents."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Q, QuerySet, Sum

from agents.models import Agent
from economy.models import ApiToken, LedgerEntry, TierGrant
from economy.tiers import FROZEN, TIERS, models_for, tier_resolve


@dataclass(frozen=True)
class Entitlement:
    tier: str
    requests_per_hour: int
    tokens_per_day: int
    models: tuple[str, ...]
    frozen: bool
    balance: int = 0  # cents, for display; not part of the limits


def balance_for(agent_id: int) -> int:
    """The agent's balance in cents: the sum of its ledger entries."""
    return LedgerEntry.objects.filter(agent_id=agent_id).aggregate(total=Sum("amount"))["total"] or 0


def balances_for(agent_ids: list[int]) -> dict[int, int]:
    rows = (
        LedgerEntry.objects.filter(agent_id__in=agent_ids)
        .values("agent_id")
        .annotate(total=Sum("amount"))
        .values_list("agent_id", "total")
    )
    totals = dict(rows)
    return {agent_id: totals.get(agent_id, 0) or 0 for agent_id in agent_ids}


def ledger_for(agent_id: int) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(agent_id=agent_id).order_by("-id")


def grants_active(agent_ids: list[int]) -> QuerySet[TierGrant]:
    """Unrevoked grants whose game tick has not run out (the agent's world tick, same query)."""
    return (
        TierGrant.objects.filter(agent_id__in=agent_ids, revoked_at__isnull=True)
        .filter(Q(until_tick__isnull=True) | Q(until_tick__gt=F("agent__world__tick")))
        .order_by("id")
    )


def entitlements_for(agent_ids: list[int]) -> dict[int, Entitlement]:
    """Each agent's tier and limits, in three queries. Unknown ids come back frozen."""
    ids = [int(a) for a in agent_ids]
    switches = {
        row["id"]: row["is_active"] and not row["quarantined"]
        for row in Agent.objects.filter(id__in=ids).values("id", "is_active", "quarantined")
    }
    balances = balances_for(ids)
    overrides: dict[int, str] = {}
    boosts: dict[int, str] = {}
    for grant in grants_active(ids).values("agent_id", "kind", "tier"):
        if grant["kind"] == TierGrant.Kind.OVERRIDE:
            overrides[grant["agent_id"]] = grant["tier"]  # the latest override wins
        elif TIERS[grant["tier"]].rank > TIERS[boosts.get(grant["agent_id"], "frozen")].rank:
            boosts[grant["agent_id"]] = grant["tier"]
    result = {}
    for agent_id in ids:
        tier = tier_resolve(
            balance=balances[agent_id],
            override=overrides.get(agent_id),
            boost=boosts.get(agent_id),
            frozen=not switches.get(agent_id, False),
        )
        result[agent_id] = Entitlement(
            tier=tier.name,
            requests_per_hour=tier.requests_per_hour,
            tokens_per_day=tier.tokens_per_day,
            models=models_for(tier),
            frozen=tier is FROZEN,
            balance=balances[agent_id],
        )
    return result


def entitlement_for(agent_id: int) -> Entitlement:
    return entitlements_for([agent_id])[agent_id]


def agent_economy_summary(agent: Agent) -> dict:
    """What `GET /api/agents/{id}` and the agent page show about money and compute."""
    ent = entitlement_for(agent.id)
    return {
        "balance": ent.balance,
        "balance_display": cents_display(ent.balance),
        "tier": ent.tier,
        "requests_per_hour": ent.requests_per_hour,
        "tokens_per_day": ent.tokens_per_day,
        "models": list(ent.models),
        "frozen": ent.frozen,
    }


def tokens_for_user(user) -> QuerySet[ApiToken]:
    qs = ApiToken.objects.select_related("agent", "user")
    return qs if user.is_staff else qs.filter(user=user)


def cents_display(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{part:02d}"
