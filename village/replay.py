"""Snapshots and replay. A day is a pure function of (snapshot, config, seed, input log), so
`replay_day` recomputes it in memory, calling no model, and compares digests tick by tick."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from agents.models import Agent, AgentLocationVisit, AgentSchedule, Conversation, Memory, Relationship
from village import state_store as store
from village.reports import day_digest
from village.tick import schedule_write, snapshot_create
from world.engine.state import KEPT_AROUND_ENGINE, load_dynamic, state_digest
from world.engine.step import engine_step
from world.eventlog import lines_of_tick
from world.models import DailyReport, InputLog, Snapshot, TickRecord, World


class ReplayError(Exception):
    pass


@dataclass
class ReplayResult:
    day: int
    digest: str
    expected: str
    diverged_at: int | None = None
    detail: str = ""

    @property
    def matches(self) -> bool:
        return self.diverged_at is None and self.digest == self.expected


def day_start_snapshot(world: World, day: int) -> Snapshot:
    first = store.window_of(world).first_tick(day)
    snapshot = Snapshot.objects.filter(world=world, tick=first).order_by("id").first()
    if snapshot is None:
        raise ReplayError(f"no snapshot at the start of day {day} (tick {first})")
    return snapshot


def state_from_snapshot(world: World, snapshot: Snapshot):
    state = store.state_load(world)
    if len(snapshot.state["pos"]) != len(state.agents):
        raise ReplayError("agents were added or removed since the snapshot was taken")
    load_dynamic(state, snapshot.state)
    # Older snapshots lack some: then a visit runs from the day's start (state_load's default)
    # and nothing is owed (every block was paid as it started).
    for name in KEPT_AROUND_ENGINE:
        if name in snapshot.state:
            getattr(state.agents, name)[:] = snapshot.state[name]
    return state


def replay_day(*, world: World, day: int) -> ReplayResult:
    window = store.window_of(world)
    records = list(TickRecord.objects.filter(world=world, day=day).order_by("tick").only("tick", "digest"))
    if len(records) != window.ticks_per_day:
        raise ReplayError(
            f"day {day} has not been fully simulated ({len(records)} of {window.ticks_per_day} ticks)"
        )
    state = state_from_snapshot(world, day_start_snapshot(world, day))
    inputs = _inputs_by_tick(world, records[0].tick, records[-1].tick)
    digests = []
    for record in records:
        out = engine_step(state, inputs.get(record.tick, []), llm_jobs=False)
        digests.append(out.digest)
        if out.digest != record.digest:
            return ReplayResult(
                day,
                day_digest(digests),
                record.digest,
                record.tick,
                _first_difference(world, record.tick, out.lines()),
            )
    report = DailyReport.objects.filter(world=world, day=day).first()
    expected = report.digest if report else day_digest([r.digest for r in records])
    return ReplayResult(day, day_digest(digests), expected)


def _inputs_by_tick(world: World, first: int, last: int) -> dict[int, list[dict]]:
    rows = (
        InputLog.objects.filter(world=world, applied_tick__gte=first, applied_tick__lte=last)
        .exclude(status=InputLog.Status.PENDING)
        .order_by("id")
    )
    out: dict[int, list[dict]] = {}
    for row in rows:
        out.setdefault(row.applied_tick, []).append({"seq": row.id, "kind": row.kind, "payload": row.payload})
    return out


def _first_difference(world: World, tick: int, lines: list[str]) -> str:
    stored = lines_of_tick(world, tick)
    for n, (mine, theirs) in enumerate(zip(lines, stored, strict=False)):
        if mine != theirs:
            return f"event {n}: recorded {theirs} but replay produced {mine}"
    return f"recorded {len(stored)} events but replay produced {len(lines)}"


@transaction.atomic
def snapshot_restore(*, snapshot: Snapshot) -> str:
    """Roll the world back to the snapshot: state rows rewritten, later history removed, inputs
    applied after it queued again (results of LLM jobs emitted after it are dropped: those jobs
    never ran)."""
    world = World.objects.select_for_update().get(pk=snapshot.world_id)
    state = state_from_snapshot(world, snapshot)
    tick = snapshot.tick
    store.bulk_update_agents(state)
    edges = Relationship.objects.filter(source__world=world)
    kinds = {
        (source, target): kind for source, target, kind in edges.values_list("source_id", "target_id", "kind")
    }
    edges.delete()
    ids = state.agents.ids
    Relationship.objects.bulk_create(
        [
            Relationship(
                source_id=int(ids[a]),
                target_id=int(ids[b]),
                score=s,
                kind=kinds.get((int(ids[a]), int(ids[b])), "acquaintance"),
            )
            for (a, b), s in sorted(state.relationships.items())
        ]
    )
    Memory.objects.filter(agent__world=world, tick__gte=tick).delete()
    TickRecord.objects.filter(world=world, tick__gte=tick).delete()
    Conversation.objects.filter(world=world, tick__gte=tick).delete()
    # A visit that ended at the restored tick or later was still open at the snapshot, where the
    # restored live state holds its start; one that began later never happened.
    AgentLocationVisit.objects.filter(agent__world=world, since_tick__gte=tick).delete()
    AgentLocationVisit.objects.filter(agent__world=world, until_tick__gte=tick).delete()
    AgentSchedule.objects.filter(agent__world=world, day__gte=snapshot.day).delete()
    DailyReport.objects.filter(world=world, day__gte=snapshot.day).delete()
    _forget_results_of_undone_jobs(world, tick)
    later = InputLog.objects.filter(world=world, applied_tick__gte=tick)
    later.update(status=InputLog.Status.PENDING, applied_tick=None, reason="")
    Snapshot.objects.filter(world=world, tick__gt=tick).delete()
    schedule_write(state, list(range(len(state.agents))), snapshot.day)
    world.tick = tick
    world.state_version += 1
    world.save(update_fields=["tick", "state_version"])
    store.state_forget(world.id)
    return state_digest(state)


def job_tick(job_id: str) -> int | None:
    """The tick that emitted an LLM job; job ids are `<world>-<tick>-<n>` (world.engine.step)."""
    try:
        return int(str(job_id).split("-")[1])
    except (IndexError, ValueError):
        return None


def _forget_results_of_undone_jobs(world: World, tick: int) -> None:
    """LLM results answer jobs; a job emitted at or after the restored tick never happened, so its
    result goes, applied or still pending. Results of earlier jobs stay, to be applied again."""
    results = InputLog.objects.filter(world=world, kind="llm.result").filter(
        Q(applied_tick__gte=tick) | Q(applied_tick__isnull=True)
    )
    undone = []
    for row_id, payload in results.values_list("id", "payload"):
        emitted = job_tick((payload or {}).get("job_id", ""))
        if emitted is None or emitted >= tick:
            undone.append(row_id)
    # So are the board's notes to the engine written by those ticks (board/services.py): a post
    # went up, an agent replied. They carry the tick that wrote them; people's replies do not.
    notes = InputLog.objects.filter(world=world, kind__in=("board.posted", "board.reply"))
    for row_id, payload in notes.filter(Q(applied_tick__gte=tick) | Q(applied_tick__isnull=True)).values_list(
        "id", "payload"
    ):
        written = (payload or {}).get("tick")
        if isinstance(written, int) and written >= tick:
            undone.append(row_id)
    InputLog.objects.filter(id__in=undone).delete()


def world_state_digest(world: World) -> str:
    return state_digest(store.state_load(world))


def snapshot_now(*, world: World, label: str) -> Snapshot:
    return snapshot_create(world=world, state=store.state_load(world), label=label)


def agents_count(world: World) -> int:
    return Agent.objects.filter(world=world).count()
