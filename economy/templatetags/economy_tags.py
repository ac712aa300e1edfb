"""`{% agent_economy agent as econ %}`: what templates/agents/_economy.html shows, so any page that
has an `agent` in its context can include the panel without its view knowing about money."""

from django import template

from agents.api.access import principal_is_human
from economy.selectors import agent_economy_summary, cents_display, ledger_for

register = template.Library()
RECENT_ENTRIES = 5


@register.simple_tag(takes_context=True)
def agent_economy(context, agent):
    user = context.get("user")
    return {
        **agent_economy_summary(agent),
        "recent": list(ledger_for(agent.id)[:RECENT_ENTRIES]),
        "can_feedback": bool(user and principal_is_human(user)),
    }


@register.filter
def aid(cents) -> str:
    """Cents as aiDollars: 1250 -> "12.50"."""
    return cents_display(int(cents or 0))
