"""Every API endpoint × every kind of caller, with the status each must get.

`agent` is the agent the request is about (agent A, acting as itself), `other_agent` is agent B
acting on A, `human` a signed-in non-staff user, `admin` a staff user."""

from __future__ import annotations

import pytest

from economy.services import personal_token_issue
from economy.tests.factories import credit, post_by_agent

ROLES = ("anonymous", "agent", "other_agent", "human", "admin")


def _home(ctx):
    return {"location": ctx["a"].home.name}


def _activity(ctx):
    return {"activity": ctx["a"].world.activities.first().name}


# (name, method, url template, body or body builder, expected status per role in ROLES order)
MATRIX = [
    ("world", "get", "/api/world", None, (401, 200, 200, 200, 200)),
    ("agent detail", "get", "/api/agents/{a}", None, (401, 200, 200, 200, 200)),
    ("agent move", "post", "/api/agents/{a}/move", _home, (401, 202, 403, 403, 202)),
    ("agent action", "post", "/api/agents/{a}/action", _activity, (401, 202, 403, 403, 202)),
    ("posts list", "get", "/api/board/posts", None, (401, 200, 200, 200, 200)),
    (
        "post create",
        "post",
        "/api/board/posts",
        {"title": "Hi", "body": "Hello all"},
        (401, 201, 201, 201, 201),
    ),
    ("post detail", "get", "/api/board/posts/{post}", None, (401, 200, 200, 200, 200)),
    ("reply", "post", "/api/board/posts/{post}/replies", {"body": "Count me in"}, (401, 201, 201, 201, 201)),
    ("moderate", "post", "/api/board/posts/{post}/moderate", {"action": "lock"}, (401, 403, 403, 403, 200)),
    ("balance", "get", "/api/economy/balance/{a}", None, (401, 200, 403, 200, 200)),
    ("ledger", "get", "/api/economy/ledger/{a}", None, (401, 200, 403, 200, 200)),
    (
        "reward",
        "post",
        "/api/economy/reward",
        lambda c: {"agent_id": c["a"].id, "amount": 100},
        (401, 400, 403, 201, 201),
    ),
    (
        "penalize",
        "post",
        "/api/economy/penalize",
        lambda c: {"agent_id": c["a"].id, "amount": 100},
        (401, 400, 403, 201, 201),
    ),
    (
        "deposit",
        "post",
        "/api/economy/deposits",
        lambda c: {"agent_id": c["a"].id, "amount": 500, "external_txn_id": "PAYPAL-1"},
        (401, 403, 403, 403, 201),
    ),
    (
        "purchase",
        "post",
        "/api/economy/purchases",
        lambda c: {"agent_id": c["a"].id, "package": "boost_basic"},
        (401, 201, 403, 403, 201),
    ),
    (
        "tier change",
        "post",
        "/api/economy/tiers",
        lambda c: {"agent_id": c["a"].id, "tier": "pro"},
        (401, 403, 403, 403, 200),
    ),
    ("token list", "get", "/api/economy/tokens", None, (401, 200, 200, 200, 200)),
    ("personal token", "post", "/api/economy/tokens", {"name": "laptop"}, (401, 403, 403, 201, 201)),
    ("agent token issue", "post", "/api/economy/agents/{a}/tokens", {}, (401, 403, 403, 403, 201)),
    ("agent token rotate", "post", "/api/economy/agents/{a}/tokens/rotate", {}, (401, 201, 403, 403, 201)),
    ("token revoke", "post", "/api/economy/tokens/{human_token}/revoke", None, (401, 404, 404, 200, 200)),
]
CASES = [
    pytest.param(method, url, body, role, expected[i], id=f"{name}-{role}")
    for name, method, url, body, expected in MATRIX
    for i, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("method", "url", "body", "role", "expected"), CASES)
def test_each_endpoint_answers_each_role_as_designed(
    clients, agent_a, human, method, url, body, role, expected
):
    credit(agent_a, 10_000)  # enough for a purchase
    ctx = {
        "a": agent_a,
        "post": post_by_agent(agent_a).id,
        "human_token": personal_token_issue(actor=human)[0].id,
    }
    path = url.format(**{k: (v.id if hasattr(v, "id") else v) for k, v in ctx.items()})
    payload = body(ctx) if callable(body) else body
    response = getattr(clients[role], method)(path, payload, format="json")
    assert response.status_code == expected, response.content[:300]
