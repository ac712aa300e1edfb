"""Periodic ticking. Beat calls `world_tick_due` every VILLAGE_BEAT_SECONDS; it reserves every
running world whose next tick is due and queues `world_tick` for it. `runvillage`'s timer and the
`tick` command call `ticks_advance_due`, the same reservation with the ticks run inline.

A reservation is a conditional UPDATE of `last_tick_at` on the (tick, last_tick_at) pair just
read, so two beats, two timers or a beat and a timer never reserve the same slot; `world_tick`
carries the tick number it was queued for and does nothing if the world has moved on, so a
redelivered task cannot advance a world twice. The tick's own claim is the last line of defence."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import close_old_connections
from django.utils import timezone

from world.models import World

log = logging.getLogger("village.ticks")


def worlds_reserve_due(now=None) -> list[tuple[int, int]]:
    """(world id, tick) for each running world whose last tick is at least tick_seconds old."""
    now = now or timezone.now()
    reserved = []
    running = World.objects.filter(status=World.Status.RUNNING).values_list(
        "id", "tick", "tick_seconds", "last_tick_at"
    )
    for world_id, tick, tick_seconds, last in running:
        if last is not None and last + timedelta(seconds=tick_seconds) > now:
            continue
        if World.objects.filter(pk=world_id, tick=tick, last_tick_at=last).update(last_tick_at=now):
            reserved.append((world_id, tick))
    return reserved


def world_tick_run(*, world_id: int, tick: int | None = None):
    """Advance the world once, unless it is no longer at `tick` (then None)."""
    from village.tick import tick_advance  # the orchestrator calls into every app; import late

    if tick is not None and not World.objects.filter(pk=world_id, tick=tick).exists():
        return None
    return tick_advance(world_id=world_id)


def ticks_advance_due() -> int:
    """Reserve and run every due tick in this process; returns how many ran."""
    ran = 0
    for world_id, tick in worlds_reserve_due():
        try:
            if world_tick_run(world_id=world_id, tick=tick) is not None:
                ran += 1
        except Exception:  # one broken world must not stop the others
            log.exception("tick %s of world %s failed", tick, world_id)
    return ran


@shared_task(name="world.tasks.world_tick_due", ignore_result=True)
def world_tick_due() -> int:
    reserved = worlds_reserve_due()
    for world_id, tick in reserved:
        world_tick.apply_async((world_id, tick), expires=60)
    return len(reserved)


@shared_task(name="world.tasks.world_tick", ignore_result=True)
def world_tick(world_id: int, tick: int | None = None) -> int | None:
    close_old_connections()
    out = world_tick_run(world_id=world_id, tick=tick)
    return out.tick if out is not None else None
