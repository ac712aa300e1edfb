"""The ledger: append-only in the database itself, balances as sums, no lost updates under
concurrency, deposits that credit once, wages from the tick, and the audit trail."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from economy.models import AuditLog, LedgerEntry
from economy.selectors import balance_for, balances_for
from economy.services import deposit_credit, ledger_penalize, ledger_reward, wages_pay
from economy.tests.factories import credit

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL=postgres://...)"
)


def test_a_balance_is_the_sum_of_the_entries(agent_a, agent_b, human):
    credit(agent_a, 1_000)
    ledger_reward(actor=human, agent_id=agent_a.id, amount=250)
    ledger_penalize(actor=human, agent_id=agent_a.id, amount=100)
    assert balance_for(agent_a.id) == 1_150
    assert balances_for([agent_a.id, agent_b.id]) == {agent_a.id: 1_150, agent_b.id: 0}


def test_an_update_of_a_ledger_row_is_refused_by_the_database(agent_a):
    entry = credit(agent_a, 500)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=5_000_000)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {LedgerEntry._meta.db_table} SET note = 'edited' WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 500


def test_a_delete_of_a_ledger_row_is_refused_by_the_database(agent_a):
    entry = credit(agent_a, 500)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LedgerEntry._meta.db_table}")
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_an_entry_whose_sign_contradicts_its_reason_is_refused(agent_a):
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.create(agent=agent_a, amount=-5, reason="reward", source="system")


def test_deleting_an_agent_leaves_its_ledger_history(agent_a, agent_b):
    credit(agent_a, 500)
    agent_id = agent_a.id
    agent_a.board_posts.all().delete()
    agent_a.delete()
    assert LedgerEntry.objects.filter(agent_id=agent_id).count() == 1


def test_a_repeated_deposit_id_credits_once(agent_a, admin_user):
    first, created = deposit_credit(actor=admin_user, agent_id=agent_a.id, amount=700, external_txn_id="PP-1")
    again, created_again = deposit_credit(
        actor=admin_user, agent_id=agent_a.id, amount=700, external_txn_id="PP-1"
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert balance_for(agent_a.id) == 700


def test_a_deposit_id_reused_with_other_details_is_refused(agent_a, agent_b, admin_user):
    from django.core.exceptions import ValidationError

    deposit_credit(actor=admin_user, agent_id=agent_a.id, amount=700, external_txn_id="PP-2")
    with pytest.raises(ValidationError) as err:
        deposit_credit(actor=admin_user, agent_id=agent_b.id, amount=700, external_txn_id="PP-2")
    assert "external_txn_id" in err.value.message_dict
    assert balance_for(agent_b.id) == 0


def test_shifts_are_paid_a_wage_per_block_in_a_fixed_number_of_queries(
    agent_a, agent_b, django_assert_num_queries, settings
):
    settings.VILLAGE_WAGE_CENTS = 25
    shifts = [(agent_a.id, 2, "baker shift: 2 tasks"), (agent_b.id, 1, "smith shift: 1 task"), (agent_a.id, 3, "x")]
    with django_assert_num_queries(1):
        wages_pay(7, shifts)
    assert balances_for([agent_a.id, agent_b.id]) == {agent_a.id: 125, agent_b.id: 25}
    assert AuditLog.objects.filter(action="ledger.wage").count() == 3
    assert set(LedgerEntry.objects.values_list("tick", flat=True)) == {7}


def test_a_tick_without_ended_shifts_writes_no_wage(agent_a, django_assert_num_queries):
    with django_assert_num_queries(0):
        wages_pay(7, [])
    assert not LedgerEntry.objects.exists()


def test_every_ledger_write_is_audited(agent_a, human, admin_user):
    ledger_reward(actor=human, agent_id=agent_a.id, amount=100)
    ledger_penalize(actor=admin_user, agent_id=agent_a.id, amount=50)
    deposit_credit(actor=admin_user, agent_id=agent_a.id, amount=10, external_txn_id="PP-3")
    actions = list(AuditLog.objects.order_by("id").values_list("action", "actor"))
    assert actions[-3:] == [
        ("ledger.reward", "user:hana"),
        ("ledger.penalty", "user:admin"),
        ("ledger.deposit_credit", "user:admin"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_whole_database_flush_still_clears_the_ledger(agent_a):
    """Teardown of this transactional test flushes the database: it must not trip the trigger."""
    credit(agent_a, 100)


def _in_threads(count: int, work) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(n):
        try:
            work(n)
        except BaseException as exc:  # noqa: BLE001 (reported to the test)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_of_250_rewards_lose_nothing(scenario_path, django_user_model):
    from agents.models import Agent
    from village.loading import world_create_from_scenario
    from world.scenario import load_scenario

    world = world_create_from_scenario(spec=load_scenario(scenario_path), seed=1)
    agent = Agent.objects.filter(world=world).first()
    human = django_user_model.objects.create_user("rewarder", password="pw")

    def rewards(n):
        for _ in range(250):
            ledger_reward(actor=human, agent_id=agent.id, amount=3)

    assert _in_threads(20, rewards) == []
    assert LedgerEntry.objects.filter(agent=agent, reason="reward").count() == 5_000
    assert balance_for(agent.id) == 15_000


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_deposit_id_credited_concurrently_credits_once(scenario_path, django_user_model):
    from agents.models import Agent
    from village.loading import world_create_from_scenario
    from world.scenario import load_scenario

    world = world_create_from_scenario(spec=load_scenario(scenario_path), seed=1)
    agent = Agent.objects.filter(world=world).first()
    admin = django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
    results = []

    def deposit(n):
        results.append(
            deposit_credit(actor=admin, agent_id=agent.id, amount=900, external_txn_id="PP-RACE")[1]
        )

    assert _in_threads(8, deposit) == []
    assert sorted(results) == [False] * 7 + [True]
    assert balance_for(agent.id) == 900


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_never_overdraw(scenario_path, django_user_model):
    from django.core.exceptions import ValidationError

    from agents.models import Agent
    from economy.services import compute_purchase
    from village.loading import world_create_from_scenario
    from world.scenario import load_scenario

    world = world_create_from_scenario(spec=load_scenario(scenario_path), seed=1)
    agent = Agent.objects.filter(world=world).first()
    admin = django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
    credit(agent, 1_200)  # enough for two boosts of 500, not three
    refused = []

    def buy(n):
        try:
            compute_purchase(actor=admin, agent_id=agent.id, package="boost_basic")
        except ValidationError:
            refused.append(n)

    assert _in_threads(6, buy) == []
    assert len(refused) == 4
    assert balance_for(agent.id) == 200
