"""Compute tiers: the balance decides, rewards raise and penalties lower the tier, boosts and
overrides adjust it, safety switches freeze it; `entitlements_for` costs a fixed number of queries."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from economy.models import ApiToken, AuditLog, LedgerEntry
from economy.selectors import entitlement_for, entitlements_for
from economy.services import (
    agent_kill_switch,
    agent_quarantine,
    agent_token_issue,
    compute_purchase,
    ledger_penalize,
    ledger_reward,
    tier_set,
)
from economy.tests.factories import credit
from economy.tiers import tier_for_balance


@pytest.mark.parametrize(
    ("cents", "tier"),
    [(-1, "frozen"), (0, "free"), (999, "free"), (1_000, "basic"), (9_999, "basic"), (10_000, "pro")],
)
def test_the_balance_picks_the_tier(cents, tier):
    assert tier_for_balance(cents).name == tier


def test_a_reward_raises_the_tier_and_a_penalty_lowers_it(agent_a, human):
    before = entitlement_for(agent_a.id)
    ledger_reward(actor=human, agent_id=agent_a.id, amount=1_500)
    rewarded = entitlement_for(agent_a.id)
    ledger_penalize(actor=human, agent_id=agent_a.id, amount=1_000)
    penalized = entitlement_for(agent_a.id)
    assert (before.tier, rewarded.tier, penalized.tier) == ("free", "basic", "free")
    assert rewarded.tokens_per_day > before.tokens_per_day
    assert rewarded.requests_per_hour > penalized.requests_per_hour


def test_debt_freezes_compute(agent_a, human):
    ledger_penalize(actor=human, agent_id=agent_a.id, amount=1)
    ent = entitlement_for(agent_a.id)
    assert ent.frozen and ent.tier == "frozen" and ent.models == () and ent.tokens_per_day == 0


def test_entitlements_cost_three_queries_for_any_number_of_agents(town, django_assert_num_queries):
    ids = list(town.agents.values_list("id", flat=True))
    for agent_id in ids[:3]:
        credit(town.agents.get(pk=agent_id), 20_000)
    with django_assert_num_queries(3):
        few = entitlements_for(ids[:2])
    with django_assert_num_queries(3):
        many = entitlements_for(ids + [999_999])
    assert few[ids[0]].tier == "pro" and many[ids[-1]].tier == "free"
    assert many[999_999].frozen


def test_quarantine_freezes_compute_and_revokes_tokens(agent_a, admin_user):
    credit(agent_a, 20_000)
    agent_token_issue(actor=admin_user, agent=agent_a)
    agent_quarantine(actor=admin_user, agent=agent_a)
    assert entitlement_for(agent_a.id).frozen
    assert not ApiToken.objects.filter(agent=agent_a, revoked_at__isnull=True).exists()
    agent_quarantine(actor=admin_user, agent=agent_a, on=False)
    assert entitlement_for(agent_a.id).tier == "pro"
    assert AuditLog.objects.filter(action__in=["agent.quarantine", "agent.release"]).count() == 2


def test_the_kill_switch_freezes_compute(agent_a, admin_user):
    agent_kill_switch(actor=admin_user, agent=agent_a)
    assert entitlement_for(agent_a.id).frozen
    agent_kill_switch(actor=admin_user, agent=agent_a, on=False)
    assert entitlement_for(agent_a.id).tier == "free"


def test_a_bought_boost_lifts_the_tier_for_a_game_day(agent_a, admin_user):
    credit(agent_a, 600)
    grant = compute_purchase(actor=admin_user, agent_id=agent_a.id, package="boost_basic")
    assert entitlement_for(agent_a.id).tier == "basic"
    assert LedgerEntry.objects.get(pk=grant.ledger_entry_id).amount == -500
    type(agent_a.world).objects.filter(pk=agent_a.world_id).update(tick=grant.until_tick)
    assert entitlement_for(agent_a.id).tier == "free"


def test_a_purchase_beyond_the_balance_is_refused_and_writes_nothing(agent_a, admin_user):
    credit(agent_a, 499)
    with pytest.raises(ValidationError) as err:
        compute_purchase(actor=admin_user, agent_id=agent_a.id, package="boost_basic")
    assert "package" in err.value.message_dict
    assert LedgerEntry.objects.filter(agent=agent_a).count() == 1


def test_an_admin_override_sets_the_tier_until_cleared(agent_a, admin_user):
    credit(agent_a, 20_000)
    tier_set(actor=admin_user, agent_id=agent_a.id, tier="free")
    assert entitlement_for(agent_a.id).tier == "free"
    tier_set(actor=admin_user, agent_id=agent_a.id, tier="auto")
    assert entitlement_for(agent_a.id).tier == "pro"
    assert AuditLog.objects.filter(action="tier.change").count() == 2
