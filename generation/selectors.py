"""Reads over LLM metering."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from generation.models import LLMCall


def model_calls(qs):
    """Calls that reached a model: not served from cache and not denied."""
    return qs.filter(cached=False).exclude(outcome=LLMCall.Outcome.DENIED).exclude(backend="rule")


def usage_for_day(*, world, day: int) -> dict:
    qs = LLMCall.objects.filter(world=world, game_day=day)
    totals = model_calls(qs).aggregate(calls=Count("id"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"))
    by_outcome = dict(qs.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n"))
    by_kind = dict(model_calls(qs).values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    return {
        "calls": totals["calls"] or 0, "tokens_in": totals["tokens_in"] or 0,
        "tokens_out": totals["tokens_out"] or 0, "jobs": qs.count(),
        "cached": qs.filter(cached=True).count(), "by_outcome": by_outcome, "by_kind": by_kind,
    }


def usage_by_agent(*, agent_ids: list[int], day: int, hour: int) -> dict[int, dict]:
    """Model calls this game hour and tokens this game day, per agent (one query)."""
    rows = (
        model_calls(LLMCall.objects.filter(agent_id__in=agent_ids, game_day=day))
        .values("agent_id")
        .annotate(hour_calls=Count("id", filter=Q(game_hour=hour)), day_tokens=Sum("tokens_in") + Sum("tokens_out"))
    )
    return {r["agent_id"]: {"hour_calls": r["hour_calls"], "day_tokens": r["day_tokens"] or 0} for r in rows}


def usage_for_agent(*, agent_id: int) -> dict:
    qs = LLMCall.objects.filter(agent_id=agent_id)
    totals = model_calls(qs).aggregate(calls=Count("id"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"))
    return {"calls": totals["calls"] or 0, "tokens_in": totals["tokens_in"] or 0,
            "tokens_out": totals["tokens_out"] or 0,
            "denied": qs.filter(outcome=LLMCall.Outcome.DENIED).count()}
