"""Daily reports: Markdown and JSON files with their pictures, and the same metrics in the database,
agreeing with what the day's event log, conversations and memories say happened."""

import json
import re
from pathlib import Path

import matplotlib.image
import pytest
from django.core.management import call_command

from agents.models import Agent, Conversation, Memory
from generation.models import LLMCall
from village.loading import world_create_from_scenario
from village.reports import day_digest
from world.eventlog import events_all
from world.models import Activity, DailyReport, Location, TickRecord, World
from world.scenario import CATEGORIES, load_scenario

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LINK = re.compile(r"!\[[^\]]+\]\(([^)]+)\)")


TRIO = Path(__file__).resolve().parent / "scenarios" / "trio.yaml"
# A short day keeps these tests quick: 08:00 to 12:00 in half hours, both of Trio Town's gatherings.
SHORT_DAY = ("--start-hour", "8", "--end-hour", "12", "--tick-minutes", "30")
TICKS = 8


@pytest.fixture
def reports_dir(settings, tmp_path) -> Path:
    settings.VILLAGE_REPORTS_DIR = tmp_path / "reports"
    return settings.VILLAGE_REPORTS_DIR


@pytest.fixture
def world(transactional_db) -> World:
    return world_create_from_scenario(spec=load_scenario(TRIO), seed=5)


def simulate_day(capsys, *flags, days: int = 1) -> str:
    call_command("simulate", "--no-progress", "--days", str(days), "--dry-run", *SHORT_DAY, *flags)
    return capsys.readouterr().out


@pytest.fixture
def reported_day(world, reports_dir, capsys) -> DailyReport:
    out = simulate_day(capsys)
    report = DailyReport.objects.get(world=world, day=1)
    assert f"  report {report.markdown_path}\n" in out and f"  report {report.json_path}\n" in out
    return report


def test_the_report_files_are_written_with_their_pictures(reported_day, reports_dir):
    markdown, as_json = Path(reported_day.markdown_path), Path(reported_day.json_path)
    assert markdown.parent == as_json.parent and markdown.is_relative_to(reports_dir)
    assert (markdown.name, as_json.name) == ("day001.md", "day001.json")
    text = markdown.read_text(encoding="utf-8")
    assert text == reported_day.summary
    assert json.loads(as_json.read_text(encoding="utf-8")) == reported_day.metrics
    links = LINK.findall(text)
    assert links == ["day001_heatmap.png", "day001_relationships.png"]
    for link in links:
        picture = markdown.parent / link
        assert picture.read_bytes().startswith(PNG_SIGNATURE), f"{link} is a PNG"
        height, width, _ = matplotlib.image.imread(picture).shape
        assert height > 50 and width > 50


def test_the_metrics_agree_with_the_day_that_happened(reported_day, world):
    m = reported_day.metrics
    events = [e for e in events_all(world) if e.day == 1]
    categories = dict(Activity.objects.filter(world=world).values_list("name", "category"))
    started = [categories[e.activity] for e in events if e.kind == "activity.start"]
    assert m["activities_by_category"] == {c: started.count(c) for c in sorted(set(started))}
    assert set(m["activities_by_category"]) <= set(CATEGORIES)
    assert set(m["location_visits"]) <= set(
        Location.objects.filter(world=world).values_list("name", flat=True)
    )
    assert sum(m["location_visits"].values()) == sum(e.kind == "arrive" for e in events) > 0
    assert m["chats"] == Conversation.objects.filter(world=world, day=1, kind="chat").count() > 0
    assert m["meetings"] == Conversation.objects.filter(world=world, day=1, kind="meeting").count()
    memories = Memory.objects.filter(agent__world=world, tick__gte=0, tick__lt=TICKS)
    assert sum(m["new_memories_by_kind"].values()) == memories.count() > 0
    assert set(m["new_memories_by_kind"]) <= set(Memory.Kind.values)
    assert m["ticks"] == TICKS and m["agents"] == Agent.objects.filter(world=world).count() == 5
    assert m["events"] == len(events)


def test_relationship_changes_are_ranked_both_ways(reported_day):
    m = reported_day.metrics
    stronger = [delta for _, _, delta in m["relationships_strengthened"]]
    weaker = [delta for _, _, delta in m["relationships_weakened"]]
    assert stronger and all(d > 0 for d in stronger) and stronger == sorted(stronger, reverse=True)
    assert all(d < 0 for d in weaker) and weaker == sorted(weaker)
    assert len(stronger) <= 5 and len(weaker) <= 5
    names = set(Agent.objects.values_list("name", flat=True))
    assert {a for a, _, _ in m["relationships_strengthened"]} <= names


def test_the_scripted_gatherings_are_notable_events(reported_day):
    scripted = [e for e in reported_day.metrics["notable_events"] if e["kind"] == "scripted"]
    assert scripted == [
        {
            "tick": 1,
            "time": "day 1 08:30",
            "kind": "scripted",
            "agent": None,
            "location": "Green Park",
            "text": "A walk in the park.",
        },
        {
            "tick": 3,
            "time": "day 1 09:30",
            "kind": "scripted",
            "agent": None,
            "location": "Town Square",
            "text": "Coffee plans on the square.",
        },
    ]
    assert "- day 1 08:30 scripted  Green Park A walk in the park.\n" in reported_day.summary


def test_the_report_carries_the_day_digest_and_the_llm_budget(reported_day, world):
    digests = TickRecord.objects.filter(world=world, day=1).order_by("tick").values_list("digest", flat=True)
    assert reported_day.digest == reported_day.metrics["digest"] == day_digest(list(digests))
    llm = reported_day.metrics["llm"]
    assert {"calls", "tokens_in", "tokens_out", "calls_per_agent_hour"} <= set(llm)
    metered = LLMCall.objects.filter(world=world, game_day=1)
    assert llm["jobs"] == metered.count() > 0
    answered = metered.filter(cached=False).exclude(outcome=LLMCall.Outcome.DENIED).exclude(backend="rule")
    assert llm["calls"] == answered.count()
    assert set(answered.values_list("backend", flat=True)) <= {"scripted"}, "a dry run calls no model"
    assert "## LLM budget" in reported_day.summary


@pytest.mark.parametrize(
    ("flag", "markdown", "as_json"), [("markdown", True, False), ("json", False, True), ("both", True, True)]
)
def test_the_report_format_chooses_the_files(world, reports_dir, capsys, flag, markdown, as_json):
    out = simulate_day(capsys, "--report-format", flag)
    report = DailyReport.objects.get(world=world, day=1)
    assert bool(report.markdown_path) == markdown and bool(report.json_path) == as_json
    assert out.count("  report ") == markdown + as_json
    written = {p.suffix for p in Path(reports_dir).rglob("day001.*")}
    assert written == {suffix for suffix, wanted in ((".md", markdown), (".json", as_json)) if wanted}


def test_a_summary_only_report_leaves_out_the_notable_events(world, reports_dir, capsys):
    simulate_day(capsys, "--summary-only")
    report = DailyReport.objects.get(world=world, day=1)
    assert "## Activities by category" in report.summary
    assert "## Notable events" not in report.summary
    assert report.metrics["notable_events"], "the data keeps them; only the Markdown is shorter"


def test_each_day_gets_its_own_report(world, reports_dir, capsys):
    out = simulate_day(capsys, days=2)
    assert [r.day for r in DailyReport.objects.filter(world=world).order_by("day")] == [1, 2]
    assert (Path(reports_dir) / f"world{world.id}" / "day002_heatmap.png").exists()
    assert "day 1 digest " in out and "day 2 digest " in out
    assert World.objects.get(pk=world.pk).tick == 2 * TICKS
