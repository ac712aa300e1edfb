"""The agent page: persona, needs, today's schedule, what it is doing, memories, relationships
and conversations. `?part=needs` (htmx) returns only the live block, which the page polls."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents import selectors


@require_GET
def agent_detail(request, agent_id: int):
    agent = selectors.agent_get_for_viewer(agent_id=agent_id)
    if agent is None:
        raise Http404("No such agent.")
    if request.htmx and request.GET.get("part") == "live":
        context = {
            "agent": agent,
            "needs": selectors.agent_needs(agent),
            "doing": selectors.agent_doing(agent),
        }
        return render(request, "agents/detail.html#live", context)
    return render(request, "agents/detail.html", selectors.agent_page(agent))
