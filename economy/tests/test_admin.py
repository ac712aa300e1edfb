"""The economy admin: read-only ledger and audit log, deposit credit that credits once, and the
quarantine / kill switch actions."""

from __future__ import annotations

from django.test import Client

from economy.models import ApiToken, AuditLog, LedgerEntry
from economy.selectors import balance_for, entitlement_for
from economy.services import agent_token_issue


def _admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_ledger_and_audit_log_are_read_only_in_admin(admin_user, agent_a):
    client = _admin_client(admin_user)
    LedgerEntry.objects.create(agent=agent_a, amount=5, reason="reward", source="system")
    assert client.get("/admin/economy/ledgerentry/").status_code == 200
    assert client.get("/admin/economy/auditlog/").status_code == 200
    assert client.get("/admin/economy/ledgerentry/add/").status_code == 403
    entry = LedgerEntry.objects.get()
    assert client.post(f"/admin/economy/ledgerentry/{entry.id}/delete/", {"post": "yes"}).status_code == 403


def test_a_deposit_credited_twice_in_admin_credits_once(admin_user, agent_a):
    client = _admin_client(admin_user)
    form = {"agent": agent_a.id, "amount": 2_500, "external_txn_id": "PAYPAL-ADMIN-1", "note": "thanks"}
    assert client.post("/admin/economy/ledgerentry/credit-deposit/", form).status_code == 302
    assert client.post("/admin/economy/ledgerentry/credit-deposit/", form).status_code == 302
    assert balance_for(agent_a.id) == 2_500
    assert AuditLog.objects.filter(action="ledger.deposit_credit").count() == 1


def test_quarantine_and_kill_switch_from_admin(admin_user, agent_a):
    client = _admin_client(admin_user)
    agent_token_issue(actor=admin_user, agent=agent_a)
    url = "/admin/economy/agentcontrol/"
    assert client.get(url).status_code == 200
    client.post(url, {"action": "quarantine", "_selected_action": [agent_a.id]})
    assert entitlement_for(agent_a.id).frozen
    assert not ApiToken.objects.filter(agent=agent_a, revoked_at__isnull=True).exists()
    client.post(url, {"action": "release", "_selected_action": [agent_a.id]})
    client.post(url, {"action": "kill", "_selected_action": [agent_a.id]})
    agent_a.refresh_from_db()
    assert not agent_a.is_active and not agent_a.quarantined
    client.post(url, {"action": "tier_pro", "_selected_action": [agent_a.id]})
    assert {"agent.quarantine", "agent.release", "agent.kill", "tier.change"} <= set(
        AuditLog.objects.values_list("action", flat=True)
    )


def test_moderation_from_admin_is_audited(admin_user, agent_a):
    from economy.tests.factories import post_by_agent

    post = post_by_agent(agent_a)
    _admin_client(admin_user).post(
        "/admin/board/post/", {"action": "moderate_lock", "_selected_action": [post.id]}
    )
    post.refresh_from_db()
    assert post.locked and AuditLog.objects.filter(action="board.lock", target_id=str(post.id)).exists()
