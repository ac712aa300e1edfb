"""Turns a validated scenario into database rows across the apps: the world, its places and
activities, agents with their initial memories, and relationship edges."""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.db.models import F

from agents.models import Agent, Memory, Relationship
from world.engine.build import anchor_of
from world.models import Activity, Location, World
from world.scenario import ScenarioSpec


def fact_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@transaction.atomic
def world_create_from_scenario(*, spec: ScenarioSpec, reset: bool = False, seed: int = 0) -> World:
    existing = World.objects.filter(name=spec.name).first()
    if existing and not reset:
        raise ValueError(f"world {spec.name!r} already exists; pass --reset to replace it")
    if existing:
        existing.agents.all().delete()
        existing.delete()
    world = World.objects.create(
        name=spec.name,
        description=spec.description,
        seed=seed,
        map_rows=spec.map.rows,
        legend=spec.map.legend,
        scripted_events=[e.model_dump() for e in spec.events],
    )
    locations = Location.objects.bulk_create(
        [
            Location(
                world=world,
                name=loc.name,
                kind=loc.kind,
                x0=loc.area[0],
                y0=loc.area[1],
                x1=loc.area[2],
                y1=loc.area[3],
                capacity=loc.capacity,
                open_hour=loc.open_hours[0],
                close_hour=loc.open_hours[1],
                order=i,
            )
            for i, loc in enumerate(spec.locations)
        ]
    )
    Activity.objects.bulk_create(
        [
            Activity(
                world=world,
                name=act.name,
                category=act.category,
                duration_minutes=act.duration_minutes,
                locations=list(act.locations),
                effects=dict(act.effects),
                prompt_template=act.prompt_template,
                order=i,
            )
            for i, act in enumerate(spec.activities)
        ]
    )
    by_name = {loc.name: loc for loc in locations}
    agents_create(world=world, specs=spec.agents, locations=by_name)
    names = {a.name: a for a in Agent.objects.filter(world=world)}
    Relationship.objects.bulk_create(
        [
            Relationship(source=names[r.a], target=names[r.b], score=r.score, kind=r.kind)
            for r in spec.relationships
        ]
    )
    return world


def agents_create(
    *, world: World, specs, locations: dict[str, Location], start_order: int = 0
) -> list[Agent]:
    agents = []
    for n, spec in enumerate(specs):
        home = locations[spec.home]
        x, y = anchor_of(home.area)
        agents.append(
            Agent(
                world=world,
                name=spec.name,
                bio=spec.bio,
                traits=spec.traits,
                interests=spec.interests,
                family=spec.family,
                job=spec.job,
                home=home,
                workplace=locations.get(spec.workplace) if spec.workplace else None,
                work_start=spec.work_hours[0],
                work_end=spec.work_hours[1],
                speed=spec.speed,
                order=start_order + n,
                x=x,
                y=y,
                inside=list(locations).index(spec.home),
                target=list(locations).index(spec.home),
            )
        )
    agents = Agent.objects.bulk_create(agents, batch_size=2000)
    if not agents or agents[0].pk is None:
        agents = list(Agent.objects.filter(world=world).order_by("order", "id"))[start_order:]
    memories = []
    for agent, spec in zip(agents, specs, strict=True):
        for item in spec.memories:
            text, importance, shareable = (
                (item, 5, True) if isinstance(item, str) else (item.text, item.importance, item.shareable)
            )
            memories.append(
                Memory(
                    agent=agent,
                    kind=Memory.Kind.FACT if shareable else Memory.Kind.OBSERVATION,
                    text=text,
                    importance=importance,
                    fact_key=fact_key(text) if shareable else "",
                    fact_text=text if shareable else "",
                    tick=-1,
                )
            )
    Memory.objects.bulk_create(memories, batch_size=2000)
    World.objects.filter(pk=world.pk).update(state_version=F("state_version") + 1)
    return agents
