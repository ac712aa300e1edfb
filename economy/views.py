"""Economy pages: the reward/penalize form of the agent economy panel (templates/agents/_economy.html).
With htmx it answers with the refreshed panel; without, it redirects back."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agents.models import Agent
from board.selectors import posts_visible_to
from economy import services
from economy.selectors import cents_display


def amount_cents(raw: str) -> int:
    """aiDollars as typed ("5", "2.50") to cents; more than two decimals is refused."""
    try:
        value = Decimal((raw or "").strip())
    except InvalidOperation:
        raise ValidationError({"amount": ["Enter an amount like 5 or 2.50."]}) from None
    cents = value * 100
    if not value.is_finite() or cents != cents.to_integral_value():
        raise ValidationError({"amount": ["Use at most two decimals."]})
    return int(cents)


@login_required
@require_POST
def agent_feedback(request, agent_id: int):
    agent = get_object_or_404(Agent.objects.select_related("world"), pk=agent_id)
    kind = request.POST.get("kind")
    post_id = request.POST.get("post_id") or None
    context = {"agent": agent}
    status = 200
    try:
        if kind not in ("reward", "penalty"):
            raise ValidationError({"kind": ["Choose reward or penalty."]})
        amount = amount_cents(request.POST.get("amount", ""))
        if post_id is not None and not str(post_id).isdigit():
            raise ValidationError({"post_id": ["No such post."]})
        service = services.ledger_reward if kind == "reward" else services.ledger_penalize
        entry = service(
            actor=request.user,
            agent_id=agent.id,
            post_id=int(post_id) if post_id else None,
            amount=amount,
            note=request.POST.get("note", "")[:200],
        )
        context["feedback_message"] = (
            f"{'Rewarded' if kind == 'reward' else 'Penalized'} {cents_display(abs(entry.amount))} aiD."
        )
    except ValidationError as exc:
        context["feedback_errors"] = exc.message_dict
        status = 400
    except PermissionDenied as exc:
        context["feedback_errors"] = {"permission": [str(exc)]}
        status = 403
    if post_id and str(post_id).isdigit():
        context["post"] = posts_visible_to(request.user).filter(pk=int(post_id)).first()
    if request.htmx:
        # htmx swaps only 2xx answers by default; the errors are in the panel.
        return render(request, "agents/_economy.html", context)
    if status != 200:
        return render(request, "agents/_economy.html", context, status=status)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = f"/agents/{agent.id}/"
    return redirect(target)
