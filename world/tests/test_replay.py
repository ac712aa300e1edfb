"""Snapshots and replay: the state survives the trip through the database, a restore brings back
the exact state of its snapshot, and `replay` recomputes a day to the same digest — or says at
which tick it diverged."""

import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from agents.models import AgentLocationVisit, Memory, Relationship
from village import state_store
from village.loading import world_create_from_scenario
from village.replay import job_tick, snapshot_now, snapshot_restore, world_state_digest
from village.simulate import RunConfig, configure
from village.tick import tick_advance
from world.engine.output import TickOutput
from world.engine.state import dynamic_dict, state_digest
from world.models import DailyReport, InputLog, Snapshot, TickRecord, World
from world.scenario import load_scenario
from world.services import input_submit

TRIO = Path(__file__).resolve().parent / "scenarios" / "trio.yaml"
TICKS_PER_DAY = 8  # 08:00 to 12:00 in half hours


@pytest.fixture(autouse=True)
def _reports_in_tmp(settings, tmp_path):
    settings.VILLAGE_REPORTS_DIR = tmp_path / "reports"


@pytest.fixture
def trio_world(transactional_db) -> World:
    world = world_create_from_scenario(spec=load_scenario(TRIO), seed=2)
    return configure(world, RunConfig(start_hour=8, end_hour=12, tick_minutes=30, dry_run=True))


def advance(world: World, ticks: int) -> None:
    for _ in range(ticks):
        assert tick_advance(world_id=world.id) is not None
    world.refresh_from_db()


# --- the state and the database ------------------------------------------------------------------


def test_the_state_read_back_from_the_database_is_the_state_in_memory(trio_world):
    advance(trio_world, 6)
    eve = trio_world.agents.get(name="Eve")
    retold_earlier = Memory.objects.filter(about_agent=eve, agent__order__lt=eve.order).exclude(fact_key="")
    assert retold_earlier.exists(), (
        "Eve's news reached someone listed before her, so a reload had a retelling to confuse with the original"
    )
    in_memory = state_store._CACHE[trio_world.id]
    from_db = state_store.state_load(trio_world)
    mine, theirs = dynamic_dict(in_memory), dynamic_dict(from_db)
    assert {k: v for k, v in theirs.items() if v != mine[k]} == {}
    assert state_digest(from_db) == state_digest(in_memory)


# --- snapshots ---------------------------------------------------------------------------------


def open_visits(world: World) -> list[tuple]:
    return sorted(state_store.visits_open(world))


def ended_visits(world: World) -> list[tuple]:
    visits = AgentLocationVisit.objects.filter(agent__world=world).order_by("agent_id", "since_tick")
    return list(visits.values_list("agent_id", "location_id", "day", "since_tick", "until_tick"))


def test_a_visit_is_written_once_when_it_ends_and_the_open_one_is_live_state(trio_world):
    advance(trio_world, 12)
    ended, still_open = (
        ended_visits(trio_world),
        {a: (loc, since) for a, loc, since in open_visits(trio_world)},
    )
    assert ended and still_open
    window = state_store.window_of(trio_world)
    last_until: dict[int, int] = {}
    for agent_id, _, day, since, until in ended:
        assert since < until and day == window.day_of(since)
        assert since >= last_until.get(agent_id, 0), "an agent's visits do not overlap"
        last_until[agent_id] = until
    for agent_id, (_, since) in still_open.items():
        assert since >= last_until.get(agent_id, 0)
    agents = trio_world.agents.all()
    inside = {a.id for a in agents if a.inside >= 0}
    assert set(still_open) == inside, "everyone inside a place has an open visit"


def relationship_kinds(world: World) -> dict:
    return dict(
        ((r.source.name, r.target.name), r.kind) for r in Relationship.objects.filter(source__world=world)
    )


def test_a_restored_snapshot_has_the_state_digest_it_was_taken_with(trio_world):
    advance(trio_world, 3)
    taken = world_state_digest(trio_world)
    visits, ended = open_visits(trio_world), ended_visits(trio_world)
    snapshot = snapshot_now(world=trio_world, label="before the square")
    assert snapshot.digest == taken
    advance(trio_world, 4)
    assert world_state_digest(trio_world) != taken, "the world moved on"
    assert snapshot_restore(snapshot=snapshot) == taken
    trio_world.refresh_from_db()
    assert trio_world.tick == snapshot.tick == 3
    assert world_state_digest(trio_world) == taken
    assert not TickRecord.objects.filter(world=trio_world, tick__gte=3).exists()
    assert not Memory.objects.filter(agent__world=trio_world, tick__gte=3).exists()
    assert open_visits(trio_world) == visits, "everyone is back where the snapshot saw them"
    assert ended_visits(trio_world) == ended, "visits that ended after the snapshot are gone"
    kinds = relationship_kinds(trio_world)
    assert kinds[("Ava", "Ben")] == "friend" and kinds[("Cleo", "Ben")] == "friend"


def tick_digests(world: World) -> list[str]:
    return list(TickRecord.objects.filter(world=world).order_by("tick").values_list("digest", flat=True))


def test_a_restored_world_runs_the_same_ticks_again(trio_world, settings):
    # Without LLM results as inputs, the ticks after a restore are a function of the snapshot alone.
    settings.VILLAGE_LLM_DISPATCH = "off"
    advance(trio_world, 3)
    snapshot = snapshot_now(world=trio_world, label="replay point")
    advance(trio_world, 3)
    first = tick_digests(trio_world)
    snapshot_restore(snapshot=snapshot)
    advance(trio_world, 3)
    assert tick_digests(trio_world) == first


def llm_results(world: World) -> dict[str, tuple]:
    rows = InputLog.objects.filter(world=world, kind="llm.result")
    return {row.payload["job_id"]: (row.status, row.applied_tick) for row in rows}


def test_a_restore_keeps_the_answers_to_earlier_jobs_and_drops_the_rest(trio_world):
    """LLM results answer jobs: those emitted before the snapshot are applied again after a restore,
    those emitted after it never happened. So the snapshot's own tick runs again exactly."""
    advance(trio_world, 2)
    snapshot = snapshot_now(world=trio_world, label="replay point")
    advance(trio_world, 3)
    first = tick_digests(trio_world)
    before = llm_results(trio_world)
    earlier = {job for job in before if job_tick(job) < 2}
    assert any(before[job][1] == 2 for job in earlier), "an earlier job's answer was applied at tick 2"
    assert set(before) - earlier, "jobs were emitted after the snapshot too"
    snapshot_restore(snapshot=snapshot)
    after = llm_results(trio_world)
    assert set(after) == earlier
    for job in earlier:
        applied = before[job][1]
        assert after[job] == (before[job] if applied is not None and applied < 2 else ("pending", None))
    advance(trio_world, 1)
    assert tick_digests(trio_world) == first[:3]


def test_the_snapshot_command_creates_lists_restores_and_deletes(trio_world, capsys):
    advance(trio_world, 2)
    call_command("snapshot", "create", "--label", "by hand")
    created = re.fullmatch(r"snapshot (\d+) tick 2 digest ([0-9a-f]{64})\n", capsys.readouterr().out)
    assert created, "create prints the snapshot, its tick and its state digest"
    snapshot_id, digest = created.groups()
    advance(trio_world, 3)
    call_command("snapshot", "list")
    listed = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"{snapshot_id}\ttick 2\tday 1\tby hand\t{digest[:16]}") for line in listed)
    call_command("snapshot", "restore", snapshot_id)
    assert capsys.readouterr().out == f"restored snapshot {snapshot_id}: tick 2 state digest {digest}\n"
    assert world_state_digest(World.objects.get(pk=trio_world.pk)) == digest
    call_command("snapshot", "delete", snapshot_id)
    assert not Snapshot.objects.filter(pk=snapshot_id).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["restore"], "snapshot id required"),
        (["restore", "999999"], "unknown snapshot 999999"),
        (["delete", "999999"], "unknown snapshot 999999"),
    ],
)
def test_the_snapshot_command_refuses_a_missing_snapshot(trio_world, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("snapshot", *args)


# --- replay --------------------------------------------------------------------------------------


@pytest.fixture
def simulated_day(trio_world) -> World:
    """Day 1 with one command from a person in the middle of it, applied at tick 4."""
    advance(trio_world, 4)
    input_submit(
        world=trio_world,
        kind="agent.move",
        payload={"agent_id": trio_world.agents.get(name="Dan").id, "location": "Little Library"},
        source="test",
    )
    advance(trio_world, TICKS_PER_DAY - 4)
    return trio_world


def replay(capsys, day: int = 1) -> str:
    call_command("replay", "--day", str(day), "--world", "Trio Town")
    return capsys.readouterr().out


def test_replay_of_a_simulated_day_matches_and_changes_nothing(simulated_day, capsys):
    report = DailyReport.objects.get(world=simulated_day, day=1)
    assert InputLog.objects.get(world=simulated_day, kind="agent.move").applied_tick == 4
    before = history(simulated_day)
    assert replay(capsys) == f"replay day 1 digest {report.digest} matches\n"
    assert history(simulated_day) == before


def history(world: World) -> tuple:
    return (
        list(TickRecord.objects.filter(world=world).order_by("tick").values_list("tick", "digest")),
        sum(TickRecord.objects.filter(world=world).values_list("events", flat=True)),
        InputLog.objects.filter(world=world).count(),
        world_state_digest(World.objects.get(pk=world.pk)),
    )


def test_replay_of_a_day_simulated_from_the_command_line_matches(trio_world, capsys):
    call_command("simulate", "--no-progress", "--days", "1", "--dry-run")
    digest = re.search(r"day 1 digest ([0-9a-f]{64})", capsys.readouterr().out).group(1)
    assert replay(capsys) == f"replay day 1 digest {digest} matches\n"


def test_replay_says_where_the_record_was_tampered_with(simulated_day, capsys):
    command = InputLog.objects.get(world=simulated_day, kind="agent.move")
    command.payload = {**command.payload, "location": "Green Park"}
    command.save()
    with pytest.raises(CommandError) as caught:
        replay(capsys)
    assert str(caught.value).startswith("replay day 1 diverged at tick 4: event ")
    assert "recorded" in str(caught.value) and "\n" not in str(caught.value)
    command.payload = {**command.payload, "location": "Little Library"}
    command.save()

    record = TickRecord.objects.get(world=simulated_day, tick=6)
    TickRecord.objects.filter(pk=record.pk).update(digest="0" * 64)
    with pytest.raises(CommandError, match=r"^replay day 1 diverged at tick 6: "):
        replay(capsys)
    TickRecord.objects.filter(pk=record.pk).update(digest=record.digest)

    report = DailyReport.objects.get(world=simulated_day, day=1)
    DailyReport.objects.filter(pk=report.pk).update(digest="f" * 64)
    with pytest.raises(
        CommandError,
        match=rf"^replay day 1 diverged at day digest \(expected f{{64}}, got {report.digest}\)$",
    ):
        replay(capsys)
    DailyReport.objects.filter(pk=report.pk).update(digest=report.digest)

    assert replay(capsys) == f"replay day 1 digest {report.digest} matches\n", "untampered, it matches again"


def test_replay_refuses_a_day_it_cannot_recompute(simulated_day, capsys):
    with pytest.raises(CommandError, match=r"^day 2 has not been fully simulated \(0 of 8 ticks\)$"):
        replay(capsys, day=2)
    Snapshot.objects.filter(world=simulated_day).delete()
    with pytest.raises(CommandError, match=r"^no snapshot at the start of day 1 \(tick 0\)$"):
        replay(capsys, day=1)


# --- the board in a replayed day -----------------------------------------------------------------


@pytest.fixture
def day_with_a_board_thread(trio_world, django_user_model) -> tuple[World, object]:
    """Day 1 in which a person replies to Ava's post at tick 2 and Ava answers it on the board."""
    from board.services import reply_create
    from economy.tests.factories import post_by_agent

    advance(trio_world, 2)
    post = post_by_agent(trio_world.agents.get(name="Ava"), title="Books to give away")
    reply_create(
        principal=django_user_model.objects.create_user("hana"), post=post, body="I would love the atlas."
    )
    advance(trio_world, TICKS_PER_DAY - 2)
    return trio_world, post


def test_replay_of_a_day_with_an_agent_answering_on_the_board_matches(day_with_a_board_thread, capsys):
    world, post = day_with_a_board_thread
    ava = world.agents.get(name="Ava")
    answer = post.replies.get(author_agent=ava)
    assert answer.created_tick == 3 and "atlas" in answer.body
    assert InputLog.objects.get(world=world, kind="board.reply").applied_tick == 2
    answered = InputLog.objects.get(world=world, kind="llm.result", payload__kind="board_reply")
    assert (answered.status, answered.applied_tick) == ("applied", 3)
    report = DailyReport.objects.get(world=world, day=1)
    assert replay(capsys) == f"replay day 1 digest {report.digest} matches\n"


def test_a_restore_drops_the_board_notes_of_undone_ticks_and_keeps_peoples_replies(
    trio_world, django_user_model
):

    from board.services import board_posts_from_tick, reply_create
    from economy.tests.factories import post_by_agent

    advance(trio_world, 2)
    snapshot = snapshot_now(world=trio_world, label="before the board")
    ava = trio_world.agents.get(name="Ava")
    reply_create(
        principal=django_user_model.objects.create_user("hana"), post=post_by_agent(ava), body="Hello!"
    )
    advance(trio_world, 1)
    event = {
        "seq": 0,
        "kind": "board.post",
        "agent": 0,
        "location": None,
        "activity": None,
        "data": {"title": "Lost glasses", "body": "Blue drawer?", "tags": []},
    }
    with transaction.atomic():
        board_posts_from_tick(trio_world, TickOutput.of_events(2, [event]), [ava.id])
    advance(trio_world, 1)
    assert InputLog.objects.get(world=trio_world, kind="board.posted").applied_tick == 3

    snapshot_restore(snapshot=snapshot)

    assert not InputLog.objects.filter(world=trio_world, kind="board.posted").exists()
    person = InputLog.objects.get(world=trio_world, kind="board.reply")
    assert (person.status, person.applied_tick) == ("pending", None)
