"""Reads for the agent page: the agent with its places, today's schedule, what it is doing now,
recent memories, relationships and conversations, each a queryset with its joins done."""

from __future__ import annotations

from django.db.models import Prefetch
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from agents.models import Agent, AgentSchedule, Conversation, Memory, Relationship
from world.engine.state import NEEDS
from world.models import Activity, Location
from world.selectors import agents_overlay_live, category_icon, window_of

# Other apps add sections to the agent page by shipping these templates; missing ones are skipped.
OPTIONAL_SECTIONS = ("agents/_economy.html", "agents/_interview.html")
RECENT_MEMORIES = 20
RECENT_CONVERSATIONS = 10
TOP_RELATIONSHIPS = 12


def agent_get_for_viewer(*, agent_id: int) -> Agent | None:
    """Agents are public to watch, like the map; acting on them goes through the API's helper."""
    agent = Agent.objects.select_related("world", "home", "workplace").filter(pk=agent_id).first()
    if agent is not None:
        agents_overlay_live(agent.world, [agent])
    return agent


def agent_today(agent: Agent) -> int:
    world = agent.world
    return window_of(world).day_of(max(world.tick - 1, 0))


def agent_needs(agent: Agent) -> list[dict]:
    return [
        {"name": need, "value": getattr(agent, need), "percent": round(100 * getattr(agent, need))}
        for need in NEEDS
    ]


def agent_doing(agent: Agent) -> dict:
    """What the agent is doing now, from its live columns (indices into the world's tables)."""
    places = list(Location.objects.filter(world_id=agent.world_id).order_by("order", "id"))
    activities = list(Activity.objects.filter(world_id=agent.world_id).order_by("order", "id"))
    activity = _at(activities, agent.activity)
    category = "walking" if agent.inside < 0 else (activity.category if activity else "idle")
    return {
        "activity": activity,
        "place": _at(places, agent.inside),
        "heading_to": _at(places, agent.target) if agent.target != agent.inside else None,
        "icon": category_icon(category),
        "category": category,
    }


def _at(items: list, index: int):
    return items[index] if 0 <= index < len(items) else None


def agent_schedule(agent: Agent, day: int):
    return (
        AgentSchedule.objects.filter(agent=agent, day=day)
        .select_related("activity", "location", "partner")
        .order_by("slot_hour")
    )


def agent_memories(agent: Agent):
    return Memory.objects.filter(agent=agent).defer("embedding").order_by("-tick", "-id")[:RECENT_MEMORIES]


def agent_relationships(agent: Agent):
    return (
        Relationship.objects.filter(source=agent)
        .select_related("target")
        .order_by("-score")[:TOP_RELATIONSHIPS]
    )


def agent_conversations(agent: Agent):
    return (
        Conversation.objects.filter(participants=agent)
        .prefetch_related(Prefetch("participants", queryset=Agent.objects.only("id", "name")))
        .order_by("-tick", "-id")[:RECENT_CONVERSATIONS]
    )


def optional_sections() -> list[str]:
    present = []
    for name in OPTIONAL_SECTIONS:
        try:
            get_template(name)
        except TemplateDoesNotExist:
            continue
        present.append(name)
    return present


def agent_page(agent: Agent) -> dict:
    day = agent_today(agent)
    window = window_of(agent.world)
    hour = window.hour_of(max(agent.world.tick - 1, 0))
    return {
        "agent": agent,
        "world": agent.world,
        "day": day,
        "hour": hour,
        "clock": window.label(max(agent.world.tick - 1, 0)),
        "needs": agent_needs(agent),
        "doing": agent_doing(agent),
        "schedule": agent_schedule(agent, day),
        "memories": agent_memories(agent),
        "relationships": agent_relationships(agent),
        "conversations": agent_conversations(agent),
        "sections": optional_sections(),
    }
