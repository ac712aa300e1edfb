"""Who may see or act on an agent: the one access helper every API view (and page) uses.

A principal is a Django user (a human, or an admin when `is_staff`) or an agent principal from a
per-agent token (`acting_agent_id` set; see economy.api.authentication). An agent acts only as
itself; any signed-in principal may read an agent; money details are for the agent itself, for
humans and for admins, not for other agents."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from agents.models import Agent

READ = "read"
ACT = "act"
ECONOMY = "economy"


def principal_agent_id(principal) -> int | None:
    return getattr(principal, "acting_agent_id", None)


def principal_is_admin(principal) -> bool:
    return bool(getattr(principal, "is_staff", False)) and principal_agent_id(principal) is None


def principal_is_human(principal) -> bool:
    return bool(getattr(principal, "is_authenticated", False)) and principal_agent_id(principal) is None


def agent_get_for_principal(principal, agent_id, *, purpose: str = READ) -> Agent:
    if principal is None or not principal.is_authenticated:
        raise PermissionDenied("Sign in first.")
    agent = Agent.objects.select_related("world", "home", "workplace").filter(pk=agent_id).first()
    if agent is None:
        raise Http404("No such agent.")
    own = principal_agent_id(principal)
    if purpose == READ or principal_is_admin(principal) or own == agent.id:
        return agent
    if purpose == ECONOMY and own is None:
        return agent
    raise PermissionDenied("An agent acts only as itself.")
