"""The agent page: everything about one agent, escaped, and 404 for one that does not exist."""

import pytest
from django.urls import reverse

from agents.models import Agent, Memory
from village.tick import tick_advance


@pytest.fixture(autouse=True)
def _quiet_llm(settings):
    settings.VILLAGE_LLM_DISPATCH = "off"


@pytest.fixture
def ava(world):
    for _ in range(3):
        tick_advance(world_id=world.id, dispatch_jobs=False)
    return Agent.objects.get(world=world, name="Ava")


def test_the_agent_page_shows_persona_needs_schedule_and_memories(client, ava):
    response = client.get(reverse("agent-detail", args=[ava.id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<h1 id="agent-name">{ava.name}</h1>' in html
    assert html.count('role="meter"') == 4
    assert "Today's plan (day 1)" in html and "<td>08:00</td>" in html
    assert "Recent memories" in html and "Relationships" in html and "Recent conversations" in html


def test_model_written_text_is_escaped(client, ava):
    Memory.objects.create(agent=ava, kind="reflection", text="<img src=x onerror=alert(1)>", tick=2)
    html = client.get(reverse("agent-detail", args=[ava.id])).content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_missing_agent_is_a_404(client, world):
    assert client.get(reverse("agent-detail", args=[99999])).status_code == 404
    assert client.get("/agents/abc/").status_code == 404


def test_the_live_block_is_an_htmx_partial(client, ava):
    response = client.get(
        reverse("agent-detail", args=[ava.id]), {"part": "live"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card live-state"') and "<html" not in html
    assert html.count('role="meter"') == 4


def test_sections_from_other_apps_are_included_when_present(client, ava, monkeypatch):
    from agents import selectors

    monkeypatch.setattr(selectors, "OPTIONAL_SECTIONS", ("agents/_missing_section.html",))
    assert client.get(reverse("agent-detail", args=[ava.id])).status_code == 200
    assert selectors.optional_sections() == []


def test_the_agent_page_reads_with_a_fixed_number_of_queries(client, ava, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        client.get(reverse("agent-detail", args=[ava.id]))


def test_the_page_shows_this_ticks_needs_where_the_agents_row_is_refreshed_in_rotation(
    client, world, settings
):
    """Big worlds rewrite only a slice of the agents' rows a tick; the page reads the live state."""
    settings.VILLAGE_AGENT_ROWS_PER_TICK = 1  # every row is rewritten only every len(agents) ticks
    for _ in range(4):
        tick_advance(world_id=world.id, dispatch_jobs=False)
    from village import state_store

    state = state_store.state_cached(world.__class__.objects.get(pk=world.pk))
    lagging = [
        (agent, i)
        for i, agent in enumerate(Agent.objects.filter(world=world).order_by("order", "id"))
        if round(100 * agent.energy) != round(100 * float(state.agents.needs[i, 0]))
    ]
    assert lagging, "some agent's row is behind the live state"
    agent, i = lagging[0]
    html = client.get(reverse("agent-detail", args=[agent.id])).content.decode()
    meter = 'aria-label="energy" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}"'
    assert meter.format(round(100 * float(state.agents.needs[i, 0]))) in html
    assert meter.format(round(100 * agent.energy)) not in html
