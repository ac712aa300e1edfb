"""World writes that people and other apps call: queue an input for the next tick, and change
how the world runs (run, pause, speed). Inputs are validated by the engine when drained."""

from __future__ import annotations

from django.db import transaction

from world.models import InputLog, World

INPUT_KINDS = ("agent.move", "agent.action", "llm.result", "board.reply", "board.posted")


class InputError(ValueError):
    pass


def input_submit(*, world: World, kind: str, payload: dict, source: str = "") -> InputLog:
    """Queue an input; it is applied (or rejected with a reason) at the start of the next tick."""
    if kind not in INPUT_KINDS:
        raise InputError(f"unknown input kind {kind!r}")
    return InputLog.objects.create(world=world, kind=kind, payload=payload, source=source[:80])


def inputs_submit_many(*, world_id: int, items: list[tuple[str, dict, str]]) -> None:
    InputLog.objects.bulk_create(
        [
            InputLog(world_id=world_id, kind=kind, payload=payload, source=source[:80])
            for kind, payload, source in items
        ]
    )


@transaction.atomic
def world_set_status(*, world: World, status: str) -> World:
    if status not in World.Status.values:
        raise InputError(f"unknown status {status!r}")
    World.objects.filter(pk=world.pk).update(status=status)
    world.status = status
    return world


MIN_TICK_SECONDS, MAX_TICK_SECONDS = 0.1, 3600.0


@transaction.atomic
def world_set_speed(*, world: World, tick_seconds: float) -> World:
    """Wall seconds between ticks while the world runs."""
    if not MIN_TICK_SECONDS <= tick_seconds <= MAX_TICK_SECONDS:
        raise InputError(f"tick seconds must be between {MIN_TICK_SECONDS} and {MAX_TICK_SECONDS}")
    World.objects.filter(pk=world.pk).update(tick_seconds=tick_seconds)
    world.tick_seconds = tick_seconds
    return world
