"""The tick: the one function that advances a world, readable top to bottom. It is the only
module that calls into every app (DESIGN.md, "The tick"); the Celery beat task, `runvillage`'s
timer, `simulate` and the admin "step" action all call `tick_advance`."""

from __future__ import annotations

import logging
import sys
import time
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from agents.models import AgentLocationVisit, AgentSchedule, Conversation, Memory, Relationship
from board.services import board_posts_from_tick, board_replies_from_tick
from economy.services import wages_pay
from generation.services import llm_jobs_submit
from village import state_store as store
from village.reports import report_if_day_end
from world import bulk
from world.broadcast import broadcast_tick
from world.engine.state import KEPT_AROUND_ENGINE, NO, dynamic_dict, fork_settle, state_digest, state_fork
from world.engine.step import TickOutput, engine_step
from world.eventlog import kind_counts, log_pack
from world.models import InputLog, Snapshot, TickRecord, World

log = logging.getLogger("village.tick")
# Inside the tick's transaction: other apps act on the tick's events (agents' board posts and
# replies); the shifts that ended are paid after them.
SIDE_EFFECTS = (board_posts_from_tick, board_replies_from_tick)
# After commit: the live diff goes out, the LLM jobs are queued, a finished day gets its report.
AFTER_COMMIT = (broadcast_tick, llm_jobs_submit, report_if_day_end)


# A process that ticks hands the GIL between its threads every half millisecond instead of every
# five: the thread that talks to PostgreSQL needs it for a moment after each answer, while the
# packing thread runs long stretches of Python (spelling rows, stepping ahead); at five
# milliseconds the database sat idle waiting for the next statement.
SWITCH_INTERVAL_S = 0.0005


def tick_advance(*, world_id: int, dispatch_jobs: bool = True) -> TickOutput | None:
    """Run the world's next tick once. Returns None when another caller already ran it."""
    started = time.perf_counter()
    if sys.getswitchinterval() > SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
    # The map and the scripted events are read only when the state is (re)loaded.
    world = World.objects.defer(*World.LOAD_ONLY_FIELDS).get(pk=world_id)
    expected = world.tick
    try:
        with transaction.atomic():
            # 1. Claim: a tick that runs twice applies once.
            if not World.objects.filter(pk=world_id, tick=expected).update(
                tick=F("tick") + 1, last_tick_at=timezone.now()
            ):
                return None
            kept = store.state_cached(world) is not None  # this process ran the last tick
            state = store.state_get(world)
            if state.window.is_day_start(expected):
                snapshot_create(world=world, state=state, label=f"day {state.window.day_of(expected)} start")
            # 2. Drain inputs in arrival order.
            pending = list(
                InputLog.objects.filter(world=world, status=InputLog.Status.PENDING).order_by("id")
            )
            inputs = [{"seq": row.id, "kind": row.kind, "payload": row.payload} for row in pending]
            # 3-7. Scheduler, decide, resolve, update, emit: stepped ahead already when nothing
            # came in since (see ahead_take), else now.
            stepped = ahead_take(world_id, state, dispatch_jobs, inputs)
            if stepped is not None:
                state, out, before, done = stepped
                store.state_put(world, state)
            else:
                before, done = state.agents.inside.copy(), state.agents.tasks_done.copy()
                out = engine_step(state, inputs, llm_jobs=dispatch_jobs)
            shifts = shifts_ended(state, out, before, done)
            visits = visits_ended(state, out, before)
            # 8. Persist the diff in one transaction; meanwhile the next tick is stepped ahead,
            # unless this one found inputs or had to load the state (see "stepping ahead").
            ahead = ahead_of(world_id, state, dispatch_jobs) if kept and not inputs else None
            persist(world, state, out, pending, visits, time.perf_counter() - started, ahead)
            for effect in SIDE_EFFECTS:
                effect(world, out, state.agents.ids)
            wages_pay(out.tick, shifts)
    except Exception:
        store.state_forget(world_id)  # the in-memory state may be half-stepped
        _AHEAD.pop(world_id, None)
        raise
    for hook in AFTER_COMMIT:
        transaction.on_commit(lambda hook=hook: hook(world_id, out))
    return out


# --- stepping ahead ------------------------------------------------------------------------
# A tick spends most of its time waiting for PostgreSQL to take its rows, one core's worth of
# work while the process's own core idles. The engine step of the next tick needs only the state
# this tick leaves and that tick's inputs, and most ticks have none: so while this tick's rows go
# in, the packing thread steps a fork of the state (world/engine/state.py, state_fork) one tick
# on, with no inputs. The next tick takes that result when nothing came in meanwhile and its
# state is the very one the fork was made of (same process, same tick, nothing reloaded);
# otherwise it is dropped and the tick is stepped as usual. Until it is taken the state it was
# forked from is untouched. A step that would likely be dropped is not made: not after a tick
# that found inputs (where they come, model answers while LLM jobs run, they keep coming), nor
# after one that had to load the state (the tick before ran elsewhere, as when a pool of Celery
# workers shares the ticks: the next one will likely run elsewhere too). The engine is a pure
# function of state and inputs: either way the tick is the same (tests:
# world/tests/test_tick_ahead.py).


@dataclass
class _Ahead:
    base: object  # the state forked
    tick: int
    llm_jobs: bool
    future: futures.Future  # -> (fork stepped, output, inside before, tasks done before)


_AHEAD: dict[int, _Ahead] = {}


def ahead_of(world_id: int, state, llm_jobs: bool):
    """The work that steps the next tick ahead, to start on the packing thread once this tick's
    rows are packed; None when switched off."""
    if not getattr(settings, "VILLAGE_TICK_AHEAD", True):
        return None

    def step_ahead():
        fork = state_fork(state)
        before, done = fork.agents.inside.copy(), fork.agents.tasks_done.copy()
        return fork, engine_step(fork, [], llm_jobs=llm_jobs), before, done

    def start():
        _AHEAD[world_id] = _Ahead(state, state.tick, llm_jobs, _PACKER.submit(step_ahead))

    return start


def ahead_wait(world_id: int) -> None:
    """Block until the world's step ahead, if one is under way, is done (a benchmark counts that
    time as the tick's)."""
    ahead = _AHEAD.get(world_id)
    if ahead is not None:
        futures.wait([ahead.future])


def ahead_take(world_id: int, state, llm_jobs: bool, inputs: list) -> tuple | None:
    """(stepped fork, output, inside before, tasks done before) for this tick if it was stepped
    ahead from this very state with no inputs, else None."""
    ahead = _AHEAD.pop(world_id, None)
    if ahead is None or inputs or ahead.base is not state:
        return None
    if ahead.tick != state.tick or ahead.llm_jobs != llm_jobs:
        return None
    try:
        stepped = ahead.future.result()
    except Exception:  # stepped again in place, where the same error is raised in the tick
        log.exception("stepping world %s ahead to tick %s failed", world_id, ahead.tick)
        return None
    fork_settle(stepped[0])
    return stepped


def _left_a_place(out: TickOutput, before: np.ndarray) -> np.ndarray:
    """The agents who were inside a place before this tick and are not there now (at a day's
    start, everyone who was inside one)."""
    moved = np.asarray(out.moved, np.int64)
    return moved[before[moved] != NO]


def shifts_ended(state, out: TickOutput, before: np.ndarray, done: np.ndarray) -> list[tuple]:
    """(agent id, work blocks, note) of each agent who left a place with work blocks unpaid;
    then the blocks this tick started (`done` is everyone's count before it) are owed, to be paid
    when their agent next leaves."""
    agents = state.agents
    gone = _left_a_place(out, before)
    paid = gone[agents.unpaid[gone] > 0]
    jobs = agents.jobs
    shifts = [
        (agent_id, blocks, f"{jobs[i] or 'work'} shift: {blocks} task{'s' if blocks > 1 else ''}")
        for agent_id, blocks, i in zip(
            agents.ids[paid].tolist(), agents.unpaid[paid].tolist(), paid.tolist(), strict=True
        )
    ]
    agents.unpaid[gone] = 0
    agents.unpaid += agents.tasks_done - done
    return shifts


def visits_ended(state, out: TickOutput, before: np.ndarray) -> list[tuple]:
    """Rows for the visits that ended in this tick, each written whole once; the places entered
    start their visits now."""
    agents, window = state.agents, state.window
    gone = _left_a_place(out, before)
    # (A visit that would end in the tick it began, as at a new world's first tick, is none.)
    left = gone[agents.since[gone] < out.tick]
    since = agents.since[left]
    rows = list(
        zip(
            agents.ids[left].tolist(),
            state.locations.ids[before[left]].tolist(),
            window.day_of(since).tolist(),
            since.tolist(),
            [out.tick] * len(left),
            strict=True,
        )
    )
    agents.since[out.moved] = out.tick
    return rows


def persist(
    world: World,
    state,
    out: TickOutput,
    pending: list[InputLog],
    visits: list[tuple],
    elapsed: float,
    meanwhile=None,
) -> None:
    """The tick's diff in bulk, with the same statements every tick whatever the number of
    agents, so the query count stays flat: on PostgreSQL see _persist_postgres; elsewhere one
    executemany per table. The events go packed into the tick's record (world/eventlog.py).
    `meanwhile` starts work for the packing thread once the tick's rows no longer read the state
    (packed, on PostgreSQL; written, elsewhere)."""
    day = state.window.day_of(out.tick)
    if bulk.is_postgres():
        _persist_postgres(world, state, out, pending, visits, day, elapsed, meanwhile)
        return
    _persist_each(world, state, out, pending, visits, day, elapsed)
    if meanwhile is not None:
        meanwhile()


def _persist_each(world, state, out, pending, visits, day, elapsed) -> None:
    """One executemany per table (SQLite and the rest)."""
    store.agents_persist(state, tick=out.tick)
    bulk.bulk_insert(Memory, MEMORY_COLUMNS, _memory_rows(state, out))
    _statement(
        f"INSERT INTO {Relationship._meta.db_table} ({', '.join(RELATIONSHIP_COLUMNS)}) "
        f"VALUES (%s, %s, %s, 'acquaintance', 1, %s) {_relationship_upsert()}",
        [(a, b, score, out.tick) for a, b, score in zip(*_relationship_columns(state, out), strict=True)],
    )
    bulk.bulk_insert(AgentLocationVisit, VISIT_COLUMNS, visits)
    schedule_write(state, sorted(out.plan_agents), day)
    bulk.bulk_insert(Conversation, CONVERSATION_COLUMNS, _conversation_rows(world, out, day))
    _statement(
        f"{_participants_insert()}%s FROM {Conversation._meta.db_table} AS c WHERE c.chat_id = %s",
        [(agent_id, chat) for chat, agent_id in _participants(out)],
    )
    _mark_inputs(pending, out)
    bulk.bulk_insert(TickRecord, TICK_RECORD_COLUMNS, [_tick_record_row(world, state, out, day, elapsed)])


TICK_RECORD_COLUMNS = (
    "world_id",
    "tick",
    "day",
    "digest",
    "events",
    "duration_ms",
    "created_at",
    "log",
    "kinds",
)
MEMORY_COLUMNS = (
    "agent_id",
    "kind",
    "text",
    "importance",
    "tick",
    "game_minute",
    "last_access_minute",
    "evidence",
    "fact_key",
    "fact_text",
    "about_agent_id",
)
RELATIONSHIP_COLUMNS = ("source_id", "target_id", "score", "kind", "interactions", "updated_tick")
VISIT_COLUMNS = ("agent_id", "location_id", "day", "since_tick", "until_tick")
SCHEDULE_COLUMNS = ("agent_id", "day", "slot_hour", "activity_id", "location_id", "source")
CONVERSATION_COLUMNS = ("world_id", "chat_id", "kind", "tick", "day", "location", "topic", "lines")


def _persist_postgres(world, state, out, pending, visits, day, elapsed, meanwhile=None) -> None:
    """Round trips, not rows, are what a busy machine makes expensive: the conversations' ids,
    one batch of statements (Django's client-side binding takes several per execute), the COPYs,
    then one pipeline of server-bound statements. Schedules are cleared before they are written."""
    plan = sorted(out.plan_agents)
    schedule = AgentSchedule._meta.db_table
    before = _Batch()
    if not getattr(settings, "VILLAGE_TICK_SYNCHRONOUS_COMMIT", False):
        # A tick is a pure function of the state before it and its inputs, both already durable,
        # so a crash that loses the last tick's commit loses nothing a rerun would not recompute
        # identically; the commit need not wait for the WAL flush. Atomicity is unchanged.
        before.add("SET LOCAL synchronous_commit TO OFF")
    before.add(store.AGENT_TICK_TABLE)
    if plan:
        before.add(
            f"DELETE FROM {schedule} WHERE day = %s AND agent_id = ANY(%s::bigint[])",
            [day, bulk.pg_array(state.agents.ids[plan].tolist())],
        )
    chats = Conversation._meta.db_table
    with connection.cursor() as cursor:
        # The conversations' ids, drawn from their sequence first so that their participants go in
        # by COPY too (a join on chat_id costs more as the table grows).
        # (The sequence is looked up once, not per id: pg_get_serial_sequence reads the catalog.)
        cursor.execute(
            f"WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('{chats}', 'id')::regclass AS seq) "
            "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
            [len(out.conversations)],
        )
        chat_ids = [row[0] for row in cursor.fetchall()]
        # While this thread sends rows and PostgreSQL takes them, another spells the next tables'
        # rows (psycopg's formatter), then packs the live state and the event log (zstandard lets
        # go of the GIL; the event lines, their digest and the relationship columns are Python
        # work that runs while this thread waits), then steps the next tick ahead. What it packs
        # goes last.
        copies = _copies(world, state, out, visits, chat_ids, plan, day)
        agent_rows = copies[0][2]
        spelled = [
            (table, columns, _PACKER.submit(bulk.copy_spelled, connection.connection, rows))
            for table, columns, rows in copies
        ]
        packing = _PACKER.submit(_packed, world, state, out, day, elapsed)
        if meanwhile is not None:
            meanwhile()
        before.run(cursor)
        for table, columns, rows in spelled:
            bulk.copy_rows(cursor, table, columns, rows.result())
        live, record, relationships = packing.result()
        after = _Batch()
        after.add(
            f"INSERT INTO {TickRecord._meta.db_table} ({', '.join(TICK_RECORD_COLUMNS)}) "
            f"VALUES ({', '.join('%s::jsonb' if c == 'kinds' else '%s' for c in TICK_RECORD_COLUMNS)})",
            record,
        )
        after.add(store.LIVE_UPSERT, live)
        after.add(store.AGENT_TICK_UPDATE, store.agent_update_params(agent_rows))
        after.add(
            f"INSERT INTO {Relationship._meta.db_table} ({', '.join(RELATIONSHIP_COLUMNS)}) "
            f"SELECT v.s, v.t, v.score, 'acquaintance', 1, %s "
            f"FROM unnest(%s::bigint[], %s::bigint[], %s::float8[]) AS v(s, t, score) {_relationship_upsert()}",
            [out.tick, *relationships],
        )
        if pending:
            inputs = InputLog._meta.db_table
            rejected = dict(out.rejected)
            after.add(
                f"UPDATE {inputs} AS i SET status = v.status, reason = v.reason, applied_tick = %s "
                f"FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, status, reason) WHERE i.id = v.id",
                [
                    out.tick,
                    [row.id for row in pending],
                    [
                        InputLog.Status.REJECTED if row.id in rejected else InputLog.Status.APPLIED
                        for row in pending
                    ],
                    [rejected.get(row.id, "")[:200] for row in pending],
                ],
            )
    # With server-side binding: the compressed blobs go as binary parameters, not as escaped
    # literals in the SQL text.
    after.run_bound()


_PACKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="village-pack")


def _copies(world, state, out, visits, chat_ids, plan, day) -> list[tuple[str, tuple, list]]:
    """(table, columns, rows) of each COPY the tick makes on PostgreSQL, in the order they go:
    the agent rows due this tick (to the temp table), memories, visits, conversations with the
    ids drawn for them and their participants, and the schedules planned in this tick."""
    chats = Conversation._meta.db_table
    copies = [
        ("agent_tick", store.AGENT_TICK_COLUMNS, store.agent_rows_due(state, out.tick)),
        (Memory._meta.db_table, MEMORY_COLUMNS, _memory_rows(state, out)),
        (AgentLocationVisit._meta.db_table, VISIT_COLUMNS, visits),
        (
            chats,
            ("id", *CONVERSATION_COLUMNS),
            [(i, *row) for i, row in zip(chat_ids, _conversation_rows(world, out, day), strict=True)],
        ),
        (
            Conversation.participants.through._meta.db_table,
            ("conversation_id", "agent_id"),
            [
                (i, agent)
                for i, c in zip(chat_ids, out.conversations, strict=True)
                for agent in c["participants"]
            ],
        ),
    ]
    if plan:
        copies.append((AgentSchedule._meta.db_table, SCHEDULE_COLUMNS, _schedule_rows(state, plan, day)))
    return copies


def _packed(world, state, out, day, elapsed) -> tuple[list, tuple, tuple]:
    """The live state's upsert parameters and the tick's record, both compressed, and the
    relationship upsert's columns."""
    live = store.live_params(state)
    relationships = tuple(bulk.pg_array(column) for column in _relationship_columns(state, out))
    return live, _tick_record_row(world, state, out, day, elapsed), relationships


class _Batch:
    """Statements that need no answer, sent in one round trip: as one execute with Django's
    client-side binding (`run`), or each with its parameters bound by the server, in one pipeline
    (`run_bound`, PostgreSQL)."""

    def __init__(self):
        self.statements: list[tuple[str, list]] = []

    def add(self, sql: str, params=()) -> None:
        self.statements.append((sql, list(params)))

    def run(self, cursor) -> None:
        cursor.execute(
            ";\n".join(sql for sql, _ in self.statements),
            [p for _, params in self.statements for p in params],
        )

    def run_bound(self) -> None:
        raw = connection.connection
        started = time.perf_counter()
        with raw.pipeline(), psycopg.Cursor(raw) as cursor:
            for sql, params in self.statements:
                cursor.execute(sql, params)
        if connection.queries_logged:  # logged like Django's own queries, so query counts see them
            spent = f"{(time.perf_counter() - started) / len(self.statements):.3f}"
            connection.queries_log.extend({"sql": sql, "time": spent} for sql, _ in self.statements)


def _tick_record_row(world, state, out, day, elapsed) -> tuple:
    """The tick's record with its events packed: the canonical lines its digest hashes, and the
    database id of each event's agent."""
    ids = state.agents.ids.tolist()
    agent_ids = [None if a is None else ids[a] for a in out.event_agents()]
    kinds = bulk.jsonb(kind_counts(out.event_kinds()))
    log = log_pack(out.lines(), agent_ids)
    return (world.id, out.tick, day, out.digest, len(agent_ids), elapsed * 1000, timezone.now(), log, kinds)


def _memory_rows(state, out) -> list[tuple]:
    """From the engine's memory rows (world/engine/output.py), without building their dicts."""
    minute, tick, jsonb = state.window.game_minutes(out.tick), out.tick, bulk.jsonb
    return [
        (
            agent_id,
            kind,
            text,
            importance,
            tick,
            minute,
            minute,
            jsonb(list(evidence)) if evidence else "[]",
            fact_key or "",
            fact_text or "",
            about,
        )
        for agent_id, kind, text, importance, fact_key, fact_text, about, evidence in out.memory_rows
    ]


def _relationship_columns(state, out) -> tuple[list, list, list]:
    pairs = sorted(out.relationship_pairs)
    index = np.array(pairs, np.int64).reshape(-1, 2)
    ids = state.agents.ids
    return ids[index[:, 0]].tolist(), ids[index[:, 1]].tolist(), [state.relationships[p] for p in pairs]


def _relationship_upsert() -> str:
    table = Relationship._meta.db_table
    return (
        f"ON CONFLICT (source_id, target_id) DO UPDATE SET score = excluded.score, "
        f"interactions = {table}.interactions + 1, updated_tick = excluded.updated_tick"
    )


def _conversation_rows(world, out, day) -> list[tuple]:
    return [
        (world.id, c["chat_id"], c["kind"], c["tick"], day, c["location"], c["topic"], "[]")
        for c in out.conversations
    ]


def _participants(out) -> list[tuple[str, int]]:
    return [(c["chat_id"], agent_id) for c in out.conversations for agent_id in c["participants"]]


def _participants_insert() -> str:
    through = Conversation.participants.through._meta.db_table
    return f"INSERT INTO {through} (conversation_id, agent_id) SELECT c.id, "


def _statement(sql: str, rows: list) -> None:
    """One executemany, issued even with no rows (it then costs nothing), so every tick runs the
    same statements whatever happened in it."""
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def schedule_write(state, indices: list[int], day: int) -> None:
    if not indices:
        return
    ids = state.agents.ids[indices].tolist()
    table = AgentSchedule._meta.db_table
    if bulk.is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE day = %s AND agent_id = ANY(%s::bigint[])", [day, ids])
    else:
        _statement(f"DELETE FROM {table} WHERE day = %s AND agent_id = %s", [(day, i) for i in ids])
    bulk.bulk_insert(AgentSchedule, SCHEDULE_COLUMNS, _schedule_rows(state, indices, day))


def _schedule_rows(state, indices: list[int], day: int) -> list[tuple]:
    agents, w = state.agents, state.window
    hours = list(range(w.start_hour, w.end_hour))
    act_ids = [*state.activities.ids.tolist(), None]  # NO (-1) -> no activity
    loc_ids = state.locations.ids.tolist()
    plan_act, plan_loc = (
        agents.plan_act[indices][:, hours].tolist(),
        agents.plan_loc[indices][:, hours].tolist(),
    )
    return [
        (agent_id, day, h, act_ids[a], loc_ids[p], agents.plan_source[i])
        for agent_id, i, acts, places in zip(
            agents.ids[indices].tolist(), indices, plan_act, plan_loc, strict=True
        )
        for h, a, p in zip(hours, acts, places, strict=True)
    ]


def _mark_inputs(pending: list[InputLog], out: TickOutput) -> None:
    if not pending:
        return
    InputLog.objects.filter(id__in=[row.id for row in pending]).update(
        status=InputLog.Status.APPLIED, applied_tick=out.tick
    )
    _statement(
        f"UPDATE {InputLog._meta.db_table} SET status = %s, reason = %s WHERE id = %s",
        [(InputLog.Status.REJECTED.value, reason[:200], seq) for seq, reason in out.rejected],
    )


def snapshot_create(*, world: World, state, label: str = "") -> Snapshot:
    return Snapshot.objects.create(
        world=world,
        tick=state.tick,
        day=state.window.day_of(state.tick),
        label=label,
        state={
            **dynamic_dict(state),
            **{name: getattr(state.agents, name).tolist() for name in KEPT_AROUND_ENGINE},
        },
        digest=state_digest(state),
    )
