"""The command line: `world_init` from a real shell, `simulate` (digests, seeds, dry runs, bad flags)
and the tick's claim, which makes a tick that runs twice apply once."""

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from agents.models import Agent
from generation import services as llm_services
from generation.llm import backends
from generation.models import LLMCall
from village.loading import world_create_from_scenario
from village.tick import tick_advance
from world.eventlog import events_all
from world.models import DailyReport, Snapshot, TickRecord, World
from world.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
TRIO = SCENARIOS / "trio.yaml"
DIGEST = re.compile(r"^day (\d+) digest ([0-9a-f]{64})$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _reports_in_tmp(settings, tmp_path):
    settings.VILLAGE_REPORTS_DIR = tmp_path / "reports"


def simulate(capsys, *args) -> str:
    call_command("simulate", "--no-progress", *args)
    return capsys.readouterr().out


# --- world_init from a shell -------------------------------------------------------------------


def test_world_init_in_a_shell_fails_with_one_line_on_stderr(tmp_path):
    bad = SCENARIOS / "bad_yaml_syntax.yaml"
    database = tmp_path / "fresh.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "village.test_settings",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "world_init", "--scenario", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"CommandError: {bad}: line 6 column 1: YAML syntax error: expected ',' or ']', but got '<scalar>'"
    ]
    assert done.stdout == ""
    assert not database.exists() or database.stat().st_size == 0, "nothing was written"


# --- simulate: bad flags -------------------------------------------------------------------------


@pytest.fixture
def trio_world(transactional_db):
    return world_create_from_scenario(spec=load_scenario(TRIO), seed=1)


def world_row(world: World) -> dict:
    world.refresh_from_db()
    fields = ("tick", "seed", "start_hour", "end_hour", "tick_minutes", "max_concurrent_chats", "options")
    row = {name: getattr(world, name) for name in fields}
    row.update(
        scripted=list(world.scripted_events),
        version=world.state_version,
        ticks=TickRecord.objects.filter(world=world).count(),
        snapshots=Snapshot.objects.filter(world=world).count(),
        agents=Agent.objects.filter(world=world).count(),
    )
    return row


def events_file(name: str, problem: str):
    path = SCENARIOS / name
    return pytest.param(["--scripted-events", str(path)], f"{path}: {problem}", id=path.stem)


BAD_FLAGS = [
    pytest.param(
        ["--start-hour", "12", "--end-hour", "10"],
        "end-hour (10) must be after start-hour (12)",
        id="end-before-start",
    ),
    pytest.param(
        ["--start-hour", "9", "--end-hour", "9"],
        "end-hour (9) must be after start-hour (9)",
        id="end-at-start",
    ),
    pytest.param(
        ["--start-hour", "-3"], "start-hour must be 0..23 and end-hour 1..24", id="start-before-midnight"
    ),
    pytest.param(
        ["--tick-minutes", "7"], "tick-minutes (7) must divide the day window of 720 minutes", id="ticks-of-7"
    ),
    pytest.param(
        ["--start-hour", "9", "--end-hour", "17", "--tick-minutes", "50"],
        "tick-minutes (50) must divide",
        id="ticks-of-50",
    ),
    pytest.param(["--tick-minutes", "0"], "tick-minutes (0) must divide", id="ticks-of-0"),
    pytest.param(["--days", "0"], "--days must be at least 1", id="no-days"),
    pytest.param(["--agents", "0"], "--agents must be at least 1", id="no-agents"),
    pytest.param(
        ["--max-concurrent-chats", "-1"], "--max-concurrent-chats must be 0 (no cap) or more", id="chat-cap"
    ),
    pytest.param(["--world", "Atlantis"], "unknown world 'Atlantis'", id="unknown-world"),
    events_file("bad_events_time.yaml", "[0].time: Value error, time must be HH:MM"),
    events_file("bad_events_place.yaml", "[1].place: unknown location 'The Moon'"),
    events_file("bad_events_participant.yaml", "[0].participants: unknown agent 'Zed'"),
    events_file("bad_events_not_a_list.yaml", "events: scripted events must be a list of events"),
    events_file("bad_events_not_a_mapping.yaml", "[1]: an event must be a mapping"),
    events_file("bad_events_syntax.yaml", "line 3 column 1: YAML syntax error"),
    events_file("missing.yaml", "(file): No such file or directory"),
]


@pytest.mark.parametrize(("flags", "message"), BAD_FLAGS)
def test_simulate_refuses_bad_flags_in_one_line_and_writes_nothing(trio_world, flags, message):
    before = world_row(trio_world)
    with pytest.raises(CommandError) as caught:
        call_command("simulate", "--no-progress", "--dry-run", *flags)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert world_row(trio_world) == before


def test_simulate_refuses_to_start_in_the_middle_of_a_day(trio_world):
    tick_advance(world_id=trio_world.id)
    before = world_row(trio_world)
    with pytest.raises(CommandError, match=r"world is mid-day \(tick 1\); finish the day first"):
        call_command("simulate", "--no-progress", "--days", "1")
    assert world_row(trio_world) == before


def test_simulate_takes_extra_scripted_events_from_a_file(trio_world, capsys):
    out = simulate(
        capsys,
        "--dry-run",
        "--start-hour",
        "13",
        "--end-hour",
        "15",
        "--tick-minutes",
        "30",
        "--scripted-events",
        str(SCENARIOS / "events_ok.yaml"),
    )
    assert DIGEST.search(out)
    (event,) = events_all(trio_world, ["scripted"])
    assert (event.location, event.data["participants"]) == ("Brew Cafe", ["Ava", "Cleo"])


# --- simulate: determinism -------------------------------------------------------------------------


def fresh_day(capsys, seed: int) -> tuple[str, list]:
    """Load the default town afresh and simulate one dry-run day; its digest and its event log."""
    call_command("world_init", "--reset", "--scenario", str(ROOT / "scenarios" / "default.yaml"))
    out = simulate(
        capsys,
        "--days",
        "1",
        "--dry-run",
        "--tick-minutes",
        "30",
        "--seed",
        str(seed),
        "--world",
        "Harbor Village",
    )
    ((day, digest),) = DIGEST.findall(out)
    world = World.objects.get(name="Harbor Village")
    names = dict(Agent.objects.filter(world=world).values_list("id", "name"))
    log = [
        (
            e.tick,
            e.seq,
            e.kind,
            names.get(e.agent_id),
            e.location,
            e.activity,
            json.dumps(e.data, sort_keys=True),
        )
        for e in events_all(world)
    ]
    assert day == "1" and log
    return digest, log


def test_the_same_seed_gives_the_same_day_and_another_seed_another(transactional_db, capsys):
    digest, log = fresh_day(capsys, seed=11)
    again, log_again = fresh_day(capsys, seed=11)
    other, log_other = fresh_day(capsys, seed=12)
    assert again == digest
    assert log_again == log, "the event log is identical, event for event"
    assert other != digest
    assert log_other != log


def test_a_day_printed_digest_is_the_stored_one(trio_world, capsys):
    out = simulate(
        capsys, "--days", "1", "--dry-run", "--start-hour", "8", "--end-hour", "12", "--tick-minutes", "30"
    )
    ((day, digest),) = DIGEST.findall(out)
    report = DailyReport.objects.get(world=trio_world, day=int(day))
    assert report.digest == digest
    assert TickRecord.objects.filter(world=trio_world, day=1).count() == 8


# --- dry run ---------------------------------------------------------------------------------------


@pytest.fixture
def no_model_may_load(monkeypatch, settings):
    """Building a real backend (a local model or an OpenAI-compatible server) is the boundary a
    model call has to cross; here it is recorded and refused. The configured backend is the local
    model, so only --dry-run keeps the run off it."""
    attempts = []

    def refuse(self, *args, **kwargs):
        attempts.append(type(self).__name__)
        raise RuntimeError(f"{type(self).__name__} must not be built in a dry run")

    monkeypatch.setattr(backends.LocalBackend, "__init__", refuse)
    monkeypatch.setattr(backends.OpenAIBackend, "__init__", refuse)
    monkeypatch.setattr(llm_services, "_BACKENDS", {})
    settings.VILLAGE_LLM_BACKEND = "local"
    return attempts


def test_the_guard_catches_a_model_being_built(no_model_may_load):
    with pytest.raises(RuntimeError):
        llm_services.backend_get("local")
    assert no_model_may_load == ["LocalBackend"]


def test_a_dry_run_calls_no_model(trio_world, capsys, no_model_may_load):
    out = simulate(capsys, "--days", "1", "--dry-run", "--start-hour", "8", "--end-hour", "12")
    assert DIGEST.search(out)
    assert no_model_may_load == []
    trio_world.refresh_from_db()
    assert trio_world.options["llm_backend"] == "scripted"
    jobs = LLMCall.objects.filter(world=trio_world)
    assert jobs.exists(), "the day produced LLM jobs, so the dry run really was put to the test"
    assert set(jobs.values_list("backend", flat=True)) <= {"scripted", "rule"}


# --- the claim: a tick that runs twice applies once ----------------------------------------------


def is_claim(sql: str) -> bool:
    return sql.startswith('UPDATE "world_world"') and '"tick" = ' in sql


def test_a_tick_claimed_twice_applies_once(world):
    """A duplicate caller reads the world, and before it claims the tick another caller runs that
    very tick; the duplicate's claim then finds the tick taken and changes nothing."""
    winner = []

    def let_another_caller_in_first(execute, sql, params, many, context):
        if is_claim(sql) and not winner:
            winner.append(None)
            winner[0] = tick_advance(world_id=world.id)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(let_another_caller_in_first):
        late = tick_advance(world_id=world.id)
    assert late is None
    assert winner[0] is not None and winner[0].tick == 0
    world.refresh_from_db()
    assert world.tick == 1
    assert list(TickRecord.objects.filter(world=world).values_list("tick", flat=True)) == [0]
    assert len(events_all(world)) == len(winner[0].events)
    assert Snapshot.objects.filter(world=world, tick=0).count() == 1
    following = tick_advance(world_id=world.id)
    assert following is not None and following.tick == 1


@pytest.mark.postgres
def test_two_workers_racing_for_one_tick_apply_it_once(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    both_read = threading.Barrier(2, timeout=20)
    results, errors = [], []

    def worker():
        waited = []

        def wait_for_the_other(execute, sql, params, many, context):
            if is_claim(sql) and not waited:
                waited.append(True)
                both_read.wait()  # both have read tick 0 before either claims it
            return execute(sql, params, many, context)

        try:
            with connection.execute_wrapper(wait_for_the_other):
                results.append(tick_advance(world_id=world.id))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(result is None for result in results) == [False, True]
    (ran,) = [result for result in results if result is not None]
    world.refresh_from_db()
    assert world.tick == 1
    assert TickRecord.objects.filter(world=world).count() == 1
    assert len(events_all(world)) == len(ran.events)
