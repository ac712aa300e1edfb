"""`seed_agent`: one more villager from the command line, or one line saying what is wrong."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from agents.models import Agent, Memory
from village import state_store
from village.loading import world_create_from_scenario
from world.models import World
from world.scenario import load_scenario

TRIO = Path(__file__).resolve().parents[2] / "world" / "tests" / "scenarios" / "trio.yaml"


@pytest.fixture
def town(db) -> World:
    return world_create_from_scenario(spec=load_scenario(TRIO), seed=1)


def seed(capsys, *flags) -> str:
    call_command("seed_agent", *flags)
    return capsys.readouterr().out


def written(world: World) -> tuple:
    world.refresh_from_db()
    return Agent.objects.count(), Memory.objects.count(), world.state_version


def test_it_creates_an_agent_with_its_interests_and_family(town, capsys):
    out = seed(
        capsys,
        "--name",
        "Fay",
        "--bio",
        "Designer",
        "--interests",
        "coffee:0.8, cycling:0.4,books",
        "--family",
        '{"spouse": "Ben", "cousin": "Cleo"}',
        "--traits",
        "curious,warm",
        "--job",
        "designer",
        "--workplace",
        "Little Library",
    )
    fay = Agent.objects.get(world=town, name="Fay")
    assert out == f"agent {fay.id} 'Fay' lives at Cedar House\n"
    assert fay.interests == {"coffee": 0.8, "cycling": 0.4, "books": 0.5}
    assert fay.family == {"spouse": "Ben", "cousin": "Cleo"}
    assert (fay.bio, fay.traits, fay.job) == ("Designer", ["curious", "warm"], "designer")
    assert (fay.home.name, fay.workplace.name) == ("Cedar House", "Little Library")
    assert fay.order == 5, "after the five agents already there"


def test_the_next_tick_sees_the_new_agent(town, capsys):
    state_store.state_get(town)
    seed(capsys, "--name", "Fay", "--home", "Cedar House")
    town.refresh_from_db()
    state = state_store.state_get(town)
    assert state.agents.names[-1] == "Fay"
    cedar = state.location_index("Cedar House")
    assert state.agents.inside[-1] == cedar
    assert tuple(state.agents.pos[-1]) == tuple(state.locations.anchor[cedar])


def test_it_takes_the_first_home_with_room_until_none_is_left(town, capsys):
    assert seed(capsys, "--name", "Fay").endswith("lives at Cedar House\n")
    before = written(town)
    with pytest.raises(CommandError, match=r"^no home has room; pass --home$"):
        seed(capsys, "--name", "Gus")
    assert written(town) == before


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--interests", "coffee:lots"], "--interests: 'coffee:lots' must look like name:0.8"),
        (
            ["--interests", "coffee:1.5"],
            "--interests: Value error, interest 'coffee' weight must be between 0 and 1",
        ),
        (
            ["--interests", "coffee:-0.1"],
            "--interests: Value error, interest 'coffee' weight must be between 0 and 1",
        ),
        (["--interests", ":0.5"], "--interests: ':0.5' needs a name before the colon"),
        (
            ["--family", "{spouse: Ben}"],
            "--family: not valid JSON (Expecting property name enclosed in double quotes)",
        ),
        (["--family", '["Ben"]'], '--family: must be a JSON object like {"spouse": "Ben"}'),
        (["--family", '{"spouse": "Zed"}'], "--family: spouse 'Zed' is not an agent in 'Trio Town'"),
        (["--home", "Nowhere"], "--home: unknown location 'Nowhere'"),
        (["--home", "Brew Cafe"], "--home: 'Brew Cafe' is a cafe, not a home"),
        (["--home", "Ash House"], "--home: 'Ash House' is full (capacity 2)"),
        (["--workplace", "Moon Base"], "--workplace: unknown location 'Moon Base'"),
        (["--world", "Atlantis"], "unknown world 'Atlantis'"),
    ],
    ids=[
        "weight-not-a-number",
        "weight-above-one",
        "weight-below-zero",
        "interest-without-name",
        "family-not-json",
        "family-not-an-object",
        "family-unknown-member",
        "unknown-home",
        "home-not-a-home",
        "home-full",
        "unknown-workplace",
        "unknown-world",
    ],
)
def test_it_refuses_a_bad_flag_in_one_line_and_writes_nothing(town, capsys, flags, message):
    before = written(town)
    with pytest.raises(CommandError) as caught:
        seed(capsys, "--name", "Fay", *flags)
    assert str(caught.value) == message
    assert written(town) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Ava", "--name: agent 'Ava' already exists"),
        ("  ", "--name: String should have at least 1 character"),
    ],
)
def test_it_refuses_a_name_that_is_taken_or_empty(town, capsys, name, message):
    before = written(town)
    with pytest.raises(CommandError) as caught:
        seed(capsys, "--name", name)
    assert str(caught.value) == message
    assert written(town) == before


def test_it_needs_a_world(db, capsys):
    with pytest.raises(CommandError, match=r"^no world: run world_init first$"):
        seed(capsys, "--name", "Fay")
    assert not Agent.objects.exists()
