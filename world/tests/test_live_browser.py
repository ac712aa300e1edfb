"""The live village in a real headless browser: `manage.py runvillage` (the embedded default:
Daphne, the tick timer, a file SQLite database, the in-memory channel layer) in a subprocess,
driven by Playwright through Debian's chromium. Screenshots land in test-artifacts/."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def village_url(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="village.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'village.sqlite3'}",
        VILLAGE_ADMIN_PASSWORD="browser-pw",
        VILLAGE_TICK_SECONDS="1.0",
        VILLAGE_LLM_BACKEND="scripted",
        VILLAGE_EMBEDDER="hashing",
        VILLAGE_REPORTS_DIR=str(tmp_path / "reports"),
        PYTHONUNBUFFERED="1",
    )
    log = (tmp_path / "runvillage.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runvillage", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "runvillage.log").read_text()
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "runvillage did not come up"
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        print((tmp_path / "runvillage.log").read_text(errors="replace")[-2000:])


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


POSITIONS = (
    "() => [...document.querySelectorAll('.agent')].map(a => a.id + ':' + a.dataset.x + ',' + a.dataset.y)"
)


def test_the_live_map_moves_agents_and_links_to_their_pages(village_url, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(village_url + "/")
    page.wait_for_selector("#map[data-connected='1']", timeout=15000)
    assert page.locator(".agent").count() == 8
    assert page.locator(".place-label").count() >= 5
    first_positions = page.evaluate(POSITIONS)
    first_clock = page.inner_text("#clock")
    page.wait_for_function(
        f"before => JSON.stringify(({POSITIONS})()) !== JSON.stringify(before)",
        arg=first_positions,
        timeout=30000,
    )
    assert page.inner_text("#clock") != first_clock
    box = page.locator(".agent").first.bounding_box()
    assert box and box["width"] > 0
    page.screenshot(path=str(ARTIFACTS / "live-map.png"), full_page=True)

    page.locator(".agent").first.click()
    page.wait_for_selector("#agent-name", timeout=10000)
    assert page.locator("[role=meter]").count() == 4
    page.screenshot(path=str(ARTIFACTS / "agent-page.png"), full_page=True)
    assert errors == []


def test_an_operator_pauses_the_village_from_the_map(village_url, browser):
    page = browser.new_page()
    page.goto(village_url + "/admin/login/?next=/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "browser-pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#map[data-connected='1']", timeout=15000)
    page.click("text=⏸ Pause")
    page.wait_for_selector("text=▶ Run", timeout=10000)
    assert page.inner_text("#status") == "paused"
    page.reload()
    assert page.inner_text("#status") == "paused"


def test_the_scrubber_shows_an_earlier_tick(village_url, browser):
    page = browser.new_page()
    page.goto(village_url + "/")
    page.wait_for_function("() => Number(document.getElementById('scrubber').max) >= 3", timeout=30000)
    page.evaluate(
        "() => { const s = document.getElementById('scrubber'); s.value = 1;"
        " s.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    page.wait_for_function(
        "() => document.getElementById('clock').textContent.includes('(replayed)')", timeout=15000
    )
    assert "08:15" in page.inner_text("#clock")
    page.click("#go-live")
    assert "(replayed)" not in page.inner_text("#clock")
