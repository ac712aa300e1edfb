"""The hot tick tables carry no database FK constraints (their deferred checks ran at every
commit), so deleting an agent, a place or a whole world must still take their rows along: Django
cascades them. Nothing the tick wrote is left pointing at what is gone."""

from agents.models import (
    Agent,
    AgentLocationVisit,
    AgentSchedule,
    Conversation,
    Memory,
    Relationship,
)
from village.tick import tick_advance
from world.models import Location, World


def _tick(world, n=12):
    for _ in range(n):
        tick_advance(world_id=world.id, dispatch_jobs=False)


def test_deleting_an_agent_takes_its_tick_rows_along(world):
    _tick(world)
    agent = Agent.objects.filter(world=world).order_by("id").first()
    assert AgentSchedule.objects.filter(agent=agent).exists()
    assert Memory.objects.filter(agent=agent).exists()
    gone = agent.id
    agent.delete()
    assert not AgentSchedule.objects.filter(agent_id=gone).exists()
    assert not AgentSchedule.objects.filter(partner_id=gone).exists()
    assert not Memory.objects.filter(agent_id=gone).exists()
    assert not AgentLocationVisit.objects.filter(agent_id=gone).exists()
    assert not Relationship.objects.filter(source_id=gone).exists()
    assert not Relationship.objects.filter(target_id=gone).exists()
    assert not Conversation.participants.through.objects.filter(agent_id=gone).exists()


def test_deleting_a_place_takes_the_schedule_slots_there_along(world):
    _tick(world, 2)
    homes = Agent.objects.filter(world=world).values_list("home_id", flat=True)  # protected
    workplaces = Agent.objects.filter(world=world, workplace__isnull=False).values_list(
        "workplace_id", flat=True
    )
    slot = (
        AgentSchedule.objects.filter(agent__world=world)
        .exclude(location_id__in=homes)
        .exclude(location_id__in=workplaces)
        .order_by("id")
        .first()
    )
    place = Location.objects.get(pk=slot.location_id)
    assert AgentSchedule.objects.filter(location=place).exists()
    gone = place.id
    place.delete()
    assert not AgentSchedule.objects.filter(location_id=gone).exists()


def test_resetting_a_world_leaves_no_tick_rows(world):
    _tick(world)
    agent_ids = list(Agent.objects.filter(world=world).values_list("id", flat=True))
    world.agents.all().delete()  # as a reset does (village/loading.py): homes are protected
    World.objects.filter(pk=world.pk).delete()
    assert not AgentSchedule.objects.filter(agent_id__in=agent_ids).exists()
    assert not Memory.objects.filter(agent_id__in=agent_ids).exists()
    assert not AgentLocationVisit.objects.filter(agent_id__in=agent_ids).exists()
    assert not Relationship.objects.filter(source_id__in=agent_ids).exists()
    assert not Conversation.objects.filter(world_id=world.pk).exists()
