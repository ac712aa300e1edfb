"""Economy API behaviour: bad input gets a field-level 4xx and writes nothing, idempotency keys,
deposits, tokens (hashed, rotated, revoked), rate limits."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from board.models import Post
from economy.api.throttling import PrincipalRateThrottle
from economy.models import ApiToken, AuditLog, IdempotencyRecord, LedgerEntry
from economy.selectors import balance_for
from economy.tests.factories import post_by_agent, post_by_human
from economy.tests.fixtures import bearer


def _nothing_written():
    return LedgerEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        (0, "zero"),
        (-5, "negative"),
        (1.5, "fractional"),
        ("2.25", "fractional text"),
        (10**12, "huge"),
        (True, "boolean"),
        (None, "null"),
        ("lots", "text"),
        (1_000_001, "just over the limit"),
    ],
)
def test_a_bad_amount_is_refused_with_a_field_message(clients, agent_a, amount, why):
    response = clients["human"].post(
        "/api/economy/reward", {"agent_id": agent_a.id, "amount": amount}, format="json"
    )
    assert response.status_code == 400, why
    assert "amount" in response.json()
    assert _nothing_written()


def test_a_reward_to_an_unknown_agent_or_post_is_refused(clients, agent_a):
    unknown_agent = clients["human"].post(
        "/api/economy/reward", {"agent_id": 987654, "amount": 5}, format="json"
    )
    unknown_post = clients["human"].post(
        "/api/economy/reward", {"post_id": 987654, "amount": 5}, format="json"
    )
    neither = clients["human"].post("/api/economy/reward", {"amount": 5}, format="json")
    assert (unknown_agent.status_code, unknown_post.status_code, neither.status_code) == (400, 400, 400)
    assert (
        "agent_id" in unknown_agent.json()
        and "post_id" in unknown_post.json()
        and "agent_id" in neither.json()
    )
    assert _nothing_written()


def test_a_reward_on_a_moderated_post_is_refused(clients, agent_a):
    post = post_by_agent(agent_a, status=Post.Status.MODERATED)
    response = clients["admin"].post("/api/economy/reward", {"post_id": post.id, "amount": 5}, format="json")
    assert response.status_code == 400 and "post_id" in response.json()
    assert _nothing_written()


def test_a_reward_for_a_post_goes_to_its_author(clients, agent_a):
    post = post_by_agent(agent_a)
    response = clients["human"].post("/api/economy/reward", {"post_id": post.id, "amount": 40}, format="json")
    assert response.status_code == 201
    assert response.json()["agent_id"] == agent_a.id and response.json()["post_id"] == post.id
    assert balance_for(agent_a.id) == 40


def test_a_reward_naming_the_wrong_author_is_refused(clients, agent_a, agent_b):
    post = post_by_agent(agent_a)
    response = clients["human"].post(
        "/api/economy/reward", {"agent_id": agent_b.id, "post_id": post.id, "amount": 5}, format="json"
    )
    assert response.status_code == 400 and "post_id" in response.json()


def test_a_human_cannot_reward_their_own_post(clients, town, human):
    post = post_by_human(town, human)
    response = clients["human"].post("/api/economy/reward", {"post_id": post.id, "amount": 5}, format="json")
    assert response.status_code == 400
    assert "own post" in response.json()["post_id"][0]
    assert _nothing_written()


def test_an_agent_cannot_reward_itself(clients, agent_a):
    response = clients["agent"].post(
        "/api/economy/reward", {"agent_id": agent_a.id, "amount": 5}, format="json"
    )
    assert response.status_code == 400 and "agent_id" in response.json()
    assert _nothing_written()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "agent_id=1&amount=5"),
        ("text/plain", "give them 5"),
        ("application/xml", "<reward/>"),
    ],
)
def test_a_wrong_content_type_is_refused(clients, content_type, body):
    response = clients["human"].generic("POST", "/api/economy/reward", body, content_type=content_type)
    assert response.status_code == 415
    assert _nothing_written()


def test_an_empty_or_broken_body_is_refused(clients):
    empty = clients["human"].generic("POST", "/api/economy/reward", "", content_type="application/json")
    broken = clients["human"].generic(
        "POST", "/api/economy/reward", "{not json", content_type="application/json"
    )
    listed = clients["human"].post("/api/economy/reward", [1, 2], format="json")
    assert (empty.status_code, broken.status_code, listed.status_code) == (400, 400, 400)
    assert _nothing_written()


def test_an_oversized_note_is_refused(clients, agent_a):
    response = clients["human"].post(
        "/api/economy/reward", {"agent_id": agent_a.id, "amount": 5, "note": "x" * 201}, format="json"
    )
    assert response.status_code == 400 and "note" in response.json()


def test_a_replayed_idempotency_key_returns_the_first_answer_and_writes_nothing(clients, agent_a):
    body = {"agent_id": agent_a.id, "amount": 75}
    first = clients["human"].post("/api/economy/reward", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = clients["human"].post("/api/economy/reward", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert LedgerEntry.objects.count() == 1 and balance_for(agent_a.id) == 75


def test_an_idempotency_key_reused_for_another_request_is_refused(clients, agent_a):
    clients["human"].post(
        "/api/economy/reward",
        {"agent_id": agent_a.id, "amount": 75},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    other = clients["human"].post(
        "/api/economy/reward",
        {"agent_id": agent_a.id, "amount": 90},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert other.status_code == 400 and "Idempotency-Key" in other.json()
    assert LedgerEntry.objects.count() == 1


def test_a_failed_request_does_not_burn_its_idempotency_key(clients, agent_a):
    bad = clients["human"].post(
        "/api/economy/reward",
        {"agent_id": agent_a.id, "amount": 0},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )
    good = clients["human"].post(
        "/api/economy/reward",
        {"agent_id": agent_a.id, "amount": 0},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )
    assert (bad.status_code, good.status_code) == (400, 400)
    assert not IdempotencyRecord.objects.exists()


def test_a_deposit_posted_twice_credits_once(clients, agent_a):
    body = {"agent_id": agent_a.id, "amount": 1_000, "external_txn_id": "PAYPAL-42"}
    first = clients["admin"].post("/api/economy/deposits", body, format="json")
    again = clients["admin"].post("/api/economy/deposits", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert balance_for(agent_a.id) == 1_000


def test_the_ledger_and_balance_read_back_what_was_written(clients, agent_a):
    clients["human"].post("/api/economy/reward", {"agent_id": agent_a.id, "amount": 1_250}, format="json")
    balance = clients["agent"].get(f"/api/economy/balance/{agent_a.id}").json()
    ledger = clients["agent"].get(f"/api/economy/ledger/{agent_a.id}?limit=1").json()
    assert (
        balance["balance"] == 1_250 and balance["balance_display"] == "12.50" and balance["tier"] == "basic"
    )
    assert ledger["count"] == 1 and ledger["results"][0]["reason"] == "reward"
    detail = clients["agent"].get(f"/api/agents/{agent_a.id}").json()
    assert detail["tier"] == "basic" and detail["balance"] == 1_250


def test_tokens_are_stored_hashed_and_work_until_rotated(clients, agent_a):
    issued = clients["admin"].post(f"/api/economy/agents/{agent_a.id}/tokens", {}, format="json").json()
    raw = issued["token"]
    assert not ApiToken.objects.filter(digest=raw).exists()
    assert not ApiToken.objects.filter(prefix=raw).exists()
    agent = bearer(raw)
    assert agent.get("/api/world").status_code == 200
    rotated = agent.post(f"/api/economy/agents/{agent_a.id}/tokens/rotate", {}, format="json")
    assert rotated.status_code == 201
    assert agent.get("/api/world").status_code == 401
    assert bearer(rotated.json()["token"]).get("/api/world").status_code == 200
    assert {"token.issue", "token.rotate"} <= set(AuditLog.objects.values_list("action", flat=True))


def test_a_revoked_personal_token_stops_working(human):
    session = APIClient()
    session.force_authenticate(human)
    issued = session.post("/api/economy/tokens", {"name": "cli"}, format="json").json()
    client = bearer(issued["token"])
    assert client.get("/api/economy/tokens").status_code == 200
    assert client.post(f"/api/economy/tokens/{issued['id']}/revoke").status_code == 200
    assert client.get("/api/economy/tokens").status_code == 401


def test_a_quarantined_agent_cannot_use_the_api(clients, agent_a, admin_user):
    from economy.services import agent_quarantine

    agent_quarantine(actor=admin_user, agent=agent_a)
    assert clients["agent"].get("/api/world").status_code == 401


def test_garbage_bearer_tokens_are_refused(db):
    assert bearer("nope").get("/api/world").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    assert client.get("/api/world").status_code == 401


def test_each_principal_has_its_own_rate_limit(clients, monkeypatch):
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "3/min"})
    statuses = [clients["agent"].get("/api/world").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert clients["other_agent"].get("/api/world").status_code == 200
    assert clients["human"].get("/api/world").status_code == 200
