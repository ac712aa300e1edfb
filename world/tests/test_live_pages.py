"""The live map page, its operator controls, the time scrubber and the report pages."""

import logging

import pytest
from django.urls import reverse

from village import state_store
from village.reports import report_create
from village.tick import tick_advance
from world.models import World
from world.selectors import world_agent_rows


@pytest.fixture(autouse=True)
def _quiet_llm(settings, tmp_path):
    settings.VILLAGE_LLM_DISPATCH = "off"
    settings.VILLAGE_REPORTS_DIR = tmp_path / "reports"


def run_ticks(world, n):
    return [tick_advance(world_id=world.id, dispatch_jobs=False) for _ in range(n)]


def test_the_map_draws_places_and_agents_with_escaped_names(client, world):
    from agents.models import Agent

    Agent.objects.filter(world=world, name="Ava").update(name="<script>alert(1)</script>")
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="agent"') == 8
    assert "Bean There Cafe" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'ws-connect="/ws/world/?world=' in html
    assert "django_htmx/htmx-2.min.js" in html and "django_htmx/ext/hx-ws-2.min.js" in html


def test_visitors_see_no_controls_but_operators_do(client, admin_user, world):
    assert (
        "⏸ Pause" not in client.get("/").content.decode() and "▶ Run" not in client.get("/").content.decode()
    )
    client.force_login(admin_user)
    assert "▶ Run" in client.get("/").content.decode()


def test_sign_in_goes_to_the_login_page_and_back(client, admin_user, world):
    html = client.get("/").content.decode()
    assert 'href="/accounts/login/?next=/"' in html and "/admin/login/" not in html
    assert client.get("/accounts/login/?next=/").status_code == 200
    response = client.post("/accounts/login/", {"username": "admin", "password": "pw", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Sign out" in client.get("/").content.decode()
    assert client.post("/accounts/logout/").status_code == 302
    assert "Sign in" in client.get("/").content.decode()


def test_an_unknown_world_is_a_404(client, world):
    assert client.get("/?world=9999").status_code == 404
    assert client.get("/?world=abc").status_code == 404


@pytest.mark.parametrize("action", ["run", "pause", "step", "speed"])
def test_a_non_operator_cannot_control_the_world(client, human, world, caplog, action):
    client.force_login(human)
    with caplog.at_level(logging.WARNING, logger="village.web"):
        response = client.post(
            reverse("world-control", args=[world.id]), {"action": action, "tick_seconds": "1"}
        )
    assert response.status_code == 403
    assert "refused world control" in caplog.text and "hana" in caplog.text
    world.refresh_from_db()
    assert world.tick == 0 and world.status == World.Status.PAUSED and world.tick_seconds == 2.0


def test_an_anonymous_visitor_cannot_control_the_world(client, world, caplog):
    with caplog.at_level(logging.WARNING, logger="village.web"):
        response = client.post(reverse("world-control", args=[world.id]), {"action": "run"})
    assert response.status_code == 403 and "anonymous" in caplog.text


def test_an_operator_runs_steps_pauses_and_sets_speed_with_htmx_partials(client, admin_user, world):
    client.force_login(admin_user)
    url = reverse("world-control", args=[world.id])
    response = client.post(url, {"action": "run"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="controls"')
    assert "<html" not in html and "⏸ Pause" in html
    assert client.post(url, {"action": "step"}, headers={"HX-Request": "true"}).status_code == 200
    assert (
        client.post(
            url, {"action": "speed", "tick_seconds": "0.5"}, headers={"HX-Request": "true"}
        ).status_code
        == 200
    )
    assert client.post(url, {"action": "pause"}).status_code == 302  # without htmx: back to the map
    world.refresh_from_db()
    assert (world.status, world.tick, world.tick_seconds) == ("paused", 1, 0.5)


@pytest.mark.parametrize(
    "data",
    [
        {"action": "explode"},
        {"action": "speed", "tick_seconds": "fast"},
        {"action": "speed", "tick_seconds": "0"},
        {"action": "speed", "tick_seconds": "nan"},
    ],
)
def test_bad_control_requests_are_refused(client, admin_user, world, data):
    client.force_login(admin_user)
    assert client.post(reverse("world-control", args=[world.id]), data).status_code == 400


def test_controls_only_take_post(client, admin_user, world):
    client.force_login(admin_user)
    assert client.get(reverse("world-control", args=[world.id])).status_code == 405


def test_the_scrubber_replays_an_earlier_tick_of_the_day(client, world):
    from agents.models import Agent

    run_ticks(world, 6)
    now = {a.id: (a.x, a.y, a.inside) for a in Agent.objects.filter(world=world)}
    latest = client.get(reverse("world-at", args=[5]), {"world": world.id}).json()
    assert {a["id"]: (a["x"], a["y"]) for a in latest["agents"]} == {k: v[:2] for k, v in now.items()}
    earlier = client.get(reverse("world-at", args=[1]), {"world": world.id}).json()
    assert earlier["tick"] == 1 and earlier["clock"] == "day 1 08:15" and earlier["range"] == [0, 5]
    moved = [a for a in earlier["agents"] if (a["x"], a["y"]) != now[a["id"]][:2]]
    assert moved, "someone should have been elsewhere at 08:15"
    again = client.get(reverse("world-at", args=[3]), {"world": world.id}).json()  # steps on from the cache
    assert again["tick"] == 3
    back = client.get(reverse("world-at", args=[1]), {"world": world.id}).json()  # rebuilds from the snapshot
    assert back["agents"] == earlier["agents"]


def test_the_scrubber_refuses_ticks_outside_today(client, world):
    run_ticks(world, 2)
    response = client.get(reverse("world-at", args=[7]), {"world": world.id})
    assert response.status_code == 404 and response.json()["range"] == [0, 1]


def test_the_scrubber_notices_a_history_that_does_not_replay(client, world):
    from world.models import TickRecord

    run_ticks(world, 3)
    TickRecord.objects.filter(world=world, tick=1).update(digest="0" * 64)
    response = client.get(reverse("world-at", args=[2]), {"world": world.id})
    assert response.status_code == 404 and "digest" in response.json()["error"]


@pytest.fixture
def report(world, settings):
    run_ticks(world, 2)
    return report_create(world=world, day=1)


def test_reports_list_and_day_page_show_pictures_and_a_timeline(client, world, report):
    listing = client.get(reverse("reports"))
    assert listing.status_code == 200 and "Day 1" in listing.content.decode()
    page = client.get(reverse("report-detail", args=[1]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "day001_heatmap.png" in html and "day001_relationships.png" in html
    assert 'id="timeline"' in html and "move.start" in html
    picture = client.get(reverse("report-picture", args=[1, "day001_heatmap.png"]))
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert b"".join(picture.streaming_content).startswith(b"\x89PNG")


def test_the_timeline_partial_filters_by_kind(client, world, report):
    response = client.get(
        reverse("report-detail", args=[1]),
        {"part": "timeline", "kind": "arrive"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<ol class="timeline"')
    assert "arrive" in html and "move.start" not in html


@pytest.mark.parametrize(
    "name", ["day002_heatmap.png", "day001.md", "..%2Fday001_heatmap.png", "day001_heatmap.png.bak", "x.png"]
)
def test_the_picture_view_serves_only_the_days_own_pictures(client, world, report, name):
    assert client.get(f"/reports/1/{name}").status_code == 404


def test_a_missing_report_is_a_404(client, world):
    assert client.get(reverse("report-detail", args=[3])).status_code == 404
    assert client.get(reverse("report-picture", args=[3, "day003_heatmap.png"])).status_code == 404


def test_the_map_page_reads_with_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    run_ticks(world, 2)
    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200


def test_the_board_page_listens_on_the_board_socket(client, world):
    response = client.get("/board/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'ws-connect="/ws/board/"' in html and "board-changed from:body" in html and "js/board.js" in html


def test_the_live_rows_from_the_tick_process_state_match_the_database(world):
    for _ in range(3):
        tick_advance(world_id=world.id, dispatch_jobs=False)
    world.refresh_from_db()
    assert state_store.state_cached(world) is not None, "the tick left its state in this process"
    from_state = world_agent_rows(world)

    state_store.state_forget(world.id)
    assert state_store.state_cached(world) is None
    from_database = world_agent_rows(world)

    assert from_state == from_database
    assert len({row[2:4] for row in from_state}) > 1, "agents stand in different places"
