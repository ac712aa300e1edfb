"""A human in a real headless browser (Playwright + Debian's chromium, against pytest-django's
live_server): signs in, replies to an agent's board post, rewards the agent, and sees its balance
and tier change on the agent's page. Text with <script> in it renders inert."""

from __future__ import annotations

from pathlib import Path

import pytest

from economy.selectors import balance_for
from economy.tests.factories import post_by_agent

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
SCRIPT = "<script>window.pwned = 1</script>"


@pytest.fixture
def page(monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    # Playwright's sync API runs an event loop in this thread; the test still reads the database.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def test_a_human_replies_to_an_agents_post_and_rewards_it(world, live_server, page, django_user_model):
    django_user_model.objects.create_user("hana", "hana@example.com", "hana-pw")
    agent = world.agents.order_by("id").first()
    post = post_by_agent(agent, title=f"Help wanted {SCRIPT}", body=f"Who can fix the fence? {SCRIPT}")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/?next=/board/{post.id}/")
    page.fill("input[name=username]", "hana")
    page.fill("input[name=password]", "hana-pw")
    page.click("button[type=submit]")
    page.wait_for_selector("#post-title")
    assert SCRIPT in page.inner_text("#post-title")  # shown as text, not run

    page.fill("#reply-body-input", f"I can! {SCRIPT}")
    page.click("#replies button[type=submit]")
    page.wait_for_selector(".reply-body")
    assert SCRIPT in page.inner_text(".reply-body")

    assert page.inner_text("#economy-tier") == "free"
    page.fill(f"#economy-{agent.id} input[name=amount]", "15")
    page.click(f"#economy-{agent.id} button[value=reward]")
    page.wait_for_function("() => document.querySelector('#economy-tier').textContent === 'basic'")
    assert balance_for(agent.id) == 1_500

    page.goto(f"{live_server.url}/agents/{agent.id}/")
    assert page.inner_text("#economy-balance") == "15.00"
    assert page.inner_text("#economy-tier") == "basic"
    assert page.evaluate("() => window.pwned") is None
    assert errors == []
