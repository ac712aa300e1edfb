"""Scenario files: the shipped towns load, and every bad input is refused with one line naming the
file, the place in it and the problem — through `world_init`, which then writes nothing."""

import copy
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from agents.models import Agent, Memory, Relationship
from world.models import Activity, Location, World
from world.scenario import ScenarioError, load_scenario, load_scripted_events

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
TRIO = SCENARIOS / "trio.yaml"


def trio() -> dict:
    return yaml.safe_load(TRIO.read_text(encoding="utf-8"))


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (World, Location, Activity, Agent, Memory, Relationship)
    }


def test_the_default_scenario_has_enough_places_activities_and_people():
    spec = load_scenario(ROOT / "scenarios" / "default.yaml")
    assert len(spec.locations) >= 5
    assert len(spec.activities) >= 6
    assert len(spec.agents) >= 8
    assert spec.events, "the default town has a scripted event"


def test_the_larger_scenario_has_at_least_twenty_five_agents():
    assert len(load_scenario(ROOT / "scenarios" / "riverbend.yaml").agents) >= 25


def test_the_test_town_loads_with_its_news_and_its_gatherings():
    spec = load_scenario(TRIO)
    ava = spec.agents[0]
    assert [a.name for a in spec.agents] == ["Ava", "Ben", "Cleo", "Dan", "Eve"]
    assert ava.memories[0].shareable and not ava.memories[1].shareable
    assert [e.minute_of_day for e in spec.events] == [8 * 60 + 30, 9 * 60 + 30]


def _set(path: str, value):
    """A change to the test town: `path` is dotted with list indices, e.g. "agents.1.home"."""

    def change(data):
        *parents, last = path.split(".")
        for part in parents:
            data = data[int(part)] if part.isdigit() else data[part]
        data[int(last) if last.isdigit() else last] = value

    return change


def _walled_library(data):
    data["map"]["rows"][10] = ".,,,,,.=====.#####......."


def _third_resident(data):
    data["agents"][2]["home"] = "Ash House"


BAD_SCENARIOS = {
    "an unknown home": (_set("agents.1.home", "Nowhere"), "agents[1].home", "unknown location 'Nowhere'"),
    "a home that is not a home": (
        _set("agents.1.home", "Brew Cafe"),
        "agents[1].home",
        "'Brew Cafe' is a cafe, not a home",
    ),
    "an unknown workplace": (
        _set("agents.0.workplace", "Moon Base"),
        "agents[0].workplace",
        "unknown location 'Moon Base'",
    ),
    "an unknown family member": (
        _set("agents.3.family", {"sister": "Zed"}),
        "agents[3].family.sister",
        "unknown agent 'Zed'",
    ),
    "an overfull home": (_third_resident, "agents[3].home", "'Ash House' is full (capacity 2)"),
    "a duplicate agent": (_set("agents.4.name", "Ben"), "agents[4].name", "duplicate name 'Ben'"),
    "an interest weight above one": (
        _set("agents.1.interests", {"cycling": 1.5}),
        "agents[1].interests",
        "interest 'cycling' weight must be between 0 and 1",
    ),
    "work that ends before it starts": (
        _set("agents.0.work_hours", [17, 10]),
        "agents[0].work_hours",
        "must be [start, end]",
    ),
    "a memory of impossible importance": (
        _set("agents.0.memories.0.importance", 11),
        "agents[0].memories[0].importance",
        "less than or equal to 10",
    ),
    "a relationship with an unknown agent": (
        _set("relationships.2.b", "Zed"),
        "relationships[2].b",
        "unknown agent 'Zed'",
    ),
    "a relationship with oneself": (
        _set("relationships.0.b", "Ava"),
        "relationships[0]",
        "an agent cannot relate to itself",
    ),
    "a duplicate relationship": (
        _set("relationships.1", {"a": "Ava", "b": "Ben", "score": 10}),
        "relationships[1]",
        "duplicate relationship 'Ava' -> 'Ben'",
    ),
    "a relationship score out of range": (
        _set("relationships.0.score", 150),
        "relationships[0].score",
        "less than or equal to 100",
    ),
    "an activity at an unknown kind of place": (
        _set("activities.2.locations", ["home", "spaceship"]),
        "activities[2].locations[1]",
        "Input should be 'home'",
    ),
    "a duplicate activity": (
        _set("activities.1.name", "sleep in"),
        "activities[1].name",
        "duplicate name 'sleep in'",
    ),
    "overlapping locations": (
        _set("locations.4.area", [4, 7, 8, 9]),
        "locations[5].area",
        "'Town Square' overlaps 'Green Park' at tile (7, 7)",
    ),
    "a location no path reaches": (
        _walled_library,
        "locations[6]",
        "no path reaches 'Little Library' from 'Ash House'",
    ),
    "a location centred on a wall": (
        _set("locations.0.area", [1, 1, 1, 1]),
        "locations[0].area",
        "centre tile (1, 1) is a wall",
    ),
    "a location outside the map": (
        _set("locations.3.area", [20, 2, 30, 4]),
        "locations[3].area",
        "area lies outside the map",
    ),
    "a capacity of zero": (
        _set("locations.2.capacity", 0),
        "locations[2].capacity",
        "greater than or equal to 1",
    ),
    "a negative capacity": (
        _set("locations.3.capacity", -4),
        "locations[3].capacity",
        "greater than or equal to 1",
    ),
    "opening hours that close before they open": (
        _set("locations.3.open_hours", [20, 7]),
        "locations[3].open_hours",
        "open_hours must be [open, close]",
    ),
    "a duplicate location": (
        _set("locations.1.name", "Ash House"),
        "locations[1].name",
        "duplicate name 'Ash House'",
    ),
    "a map character missing from the legend": (
        _set("map.rows.0", "........................?"),
        "map.rows[0][24]",
        "character '?' not in legend",
    ),
    "a ragged map": (_set("map.rows.3", ".#===#."), "map.rows", "same length"),
    "a scripted event at an unknown place": (
        _set("events.1.place", "The Moon"),
        "events[1].place",
        "unknown location 'The Moon'",
    ),
    "a scripted event with an unknown participant": (
        _set("events.0.participants", ["Ava", "Zed"]),
        "events[0].participants",
        "unknown agent 'Zed'",
    ),
    "a scripted event at a time that does not exist": (
        _set("events.0.time", "25:00"),
        "events[0].time",
        "time must be HH:MM",
    ),
    "a scripted event at a time written badly": (
        _set("events.1.time", "9.30am"),
        "events[1].time",
        "time must be HH:MM",
    ),
    "scripted events that are not a list": (
        _set("events", "picnic at noon"),
        "events",
        "Input should be a valid list",
    ),
    "a scripted event that is not a mapping": (
        _set("events.0", "picnic at noon"),
        "events[0]",
        "valid dictionary",
    ),
    "a scripted event without a description": (
        _set("events.0.description", ""),
        "events[0].description",
        "at least 1 character",
    ),
    "a misspelt section": (_set("agnets", []), "agnets", "Extra inputs are not permitted"),
}


@pytest.fixture
def existing_town(db):
    """Trio Town is already loaded; a bad file for the same town must leave it alone, even with --reset."""
    call_command("world_init", "--scenario", str(TRIO))
    return counts()


def assert_refused(path: Path, place: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as loaded:
        load_scenario(path)
    error = loaded.value
    assert (error.path, error.where) == (str(path), place)
    assert problem in error.problem
    with pytest.raises(CommandError) as commanded:
        call_command("world_init", "--scenario", str(path), "--reset")
    line = str(commanded.value)
    assert line == f"{path}: {place}: {error.problem}"
    assert "\n" not in line


@pytest.mark.parametrize("case", list(BAD_SCENARIOS), ids=lambda case: case.replace(" ", "_"))
def test_world_init_refuses_a_scenario_with(case, existing_town, tmp_path):
    change, place, problem = BAD_SCENARIOS[case]
    data = trio()
    change(data)
    assert data != trio(), "the change must change something"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert_refused(path, place, problem)
    assert counts() == existing_town


def test_the_unchanged_town_passes_the_same_checks(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(copy.deepcopy(trio()), sort_keys=False), encoding="utf-8")
    assert load_scenario(path).name == "Trio Town"


@pytest.mark.parametrize(
    ("name", "place", "problem"),
    [
        ("bad_yaml_syntax.yaml", "line 6 column 1", "YAML syntax error: expected ',' or ']'"),
        ("bad_not_a_mapping.yaml", "(top)", "a scenario must be a mapping"),
        ("no_such_file.yaml", "(file)", "No such file or directory"),
    ],
)
def test_world_init_refuses_a_file_that_is_not_a_scenario(name, place, problem, existing_town):
    assert_refused(SCENARIOS / name, place, problem)
    assert counts() == existing_town


def test_world_init_refuses_a_file_that_is_not_text(existing_town, tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"name: \xff\xfe\x00 town\n")
    assert_refused(path, "(file)", "not UTF-8 text")
    assert counts() == existing_town


def test_world_init_refuses_to_replace_a_town_without_reset(existing_town):
    with pytest.raises(CommandError, match="world 'Trio Town' already exists; pass --reset"):
        call_command("world_init", "--scenario", str(TRIO))
    assert counts() == existing_town


PLACES = {"Ash House", "Birch House", "Cedar House", "Brew Cafe", "Green Park", "Town Square"}
PEOPLE = {"Ava", "Ben", "Cleo", "Dan", "Eve"}


def test_a_scripted_events_file_loads_against_the_town():
    (event,) = load_scripted_events(SCENARIOS / "events_ok.yaml", PLACES, PEOPLE)
    assert (event.place, event.participants, event.minute_of_day) == ("Brew Cafe", ["Ava", "Cleo"], 14 * 60)


@pytest.mark.parametrize(
    ("name", "place", "problem"),
    [
        ("bad_events_not_a_list.yaml", "events", "scripted events must be a list of events"),
        ("bad_events_not_a_mapping.yaml", "[1]", "an event must be a mapping"),
        ("bad_events_time.yaml", "[0].time", "time must be HH:MM"),
        ("bad_events_place.yaml", "[1].place", "unknown location 'The Moon'"),
        ("bad_events_participant.yaml", "[0].participants", "unknown agent 'Zed'"),
        ("bad_events_syntax.yaml", "line 3 column 1", "YAML syntax error"),
    ],
)
def test_a_malformed_scripted_events_file_is_refused_in_one_line(name, place, problem):
    path = SCENARIOS / name
    with pytest.raises(ScenarioError) as caught:
        load_scripted_events(path, PLACES, PEOPLE)
    error = caught.value
    assert (error.path, error.where) == (str(path), place)
    assert problem in error.problem
    assert str(error) == f"{path}: {place}: {error.problem}" and "\n" not in str(error)
