"""Ledger benchmark: N concurrent clients reward one agent on PostgreSQL, through our path (the
`ledger_reward` service: one append-only INSERT plus its audit row per reward) and through a naive
ORM read-modify-write peer (a `NaiveBalance` row: get -> +amount -> save, no locking), in the
same run. Reports transactions per second and lost updates for both.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/village_bench .venv/bin/python bench/ledger.py \
        [--clients 16] [--rewards 200]

The database is created when missing and migrated. The last line is
`RESULT tx_s=<n> lost=<n> naive_tx_s=<n> naive_lost=<n>`."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/village_bench"
AMOUNT = 7


def database_ensure(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "village.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def naive_model():
    from django.db import connection, models

    class NaiveBalance(models.Model):
        agent_id = models.BigIntegerField(unique=True)
        balance = models.BigIntegerField(default=0)

        class Meta:
            app_label = "economy"
            db_table = "bench_naivebalance"

    if NaiveBalance._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(NaiveBalance)
    return NaiveBalance


def bench_agent():
    """A fresh agent in a one-room bench world, so each run starts from a zero balance."""
    from agents.models import Agent
    from world.models import Location, World

    world, _ = World.objects.get_or_create(name="ledger-bench", defaults={"map_rows": ["..."], "legend": {}})
    home, _ = Location.objects.get_or_create(
        world=world,
        name="home",
        defaults={"kind": "home", "x0": 0, "y0": 0, "x1": 2, "y1": 0, "capacity": 100},
    )
    return Agent.objects.create(world=world, name=f"bench-{time.time_ns()}", home=home)


def run_clients(clients: int, work) -> float:
    from django.db import connections

    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)

    def client():
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def bench_ours(clients: int, rewards: int) -> tuple[float, int]:
    from django.contrib.auth import get_user_model

    from economy.models import LedgerEntry
    from economy.selectors import balance_for
    from economy.services import ledger_reward

    agent = bench_agent()
    user, _ = get_user_model().objects.get_or_create(username="ledger-bench")

    def work():
        for _ in range(rewards):
            ledger_reward(actor=user, agent_id=agent.id, amount=AMOUNT)

    elapsed = run_clients(clients, work)
    total = clients * rewards
    lost_amount = (total * AMOUNT - balance_for(agent.id)) // AMOUNT
    lost_rows = total - LedgerEntry.objects.filter(agent_id=agent.id).count()
    return total / elapsed, max(lost_amount, lost_rows)


def bench_naive(clients: int, rewards: int) -> tuple[float, int]:
    NaiveBalance = naive_model()
    agent_id = time.time_ns()
    NaiveBalance.objects.create(agent_id=agent_id, balance=0)

    def work():
        for _ in range(rewards):
            row = NaiveBalance.objects.get(agent_id=agent_id)
            row.balance += AMOUNT
            row.save(update_fields=["balance"])

    elapsed = run_clients(clients, work)
    total = clients * rewards
    final = NaiveBalance.objects.get(agent_id=agent_id).balance
    return total / elapsed, (total * AMOUNT - final) // AMOUNT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rewards", type=int, default=200, help="rewards per client")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/ledger.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    database_ensure(url)
    django_setup(url)
    print(
        f"ledger bench: {args.clients} clients x {args.rewards} rewards on {urlparse(url).path.lstrip('/')}"
    )
    tx_s, lost = bench_ours(args.clients, args.rewards)
    print(f"ours:  {tx_s:8.1f} tx/s, lost updates {lost}")
    naive_tx_s, naive_lost = bench_naive(args.clients, args.rewards)
    print(f"naive: {naive_tx_s:8.1f} tx/s, lost updates {naive_lost}")
    print(f"RESULT tx_s={tx_s:.0f} lost={lost} naive_tx_s={naive_tx_s:.0f} naive_lost={naive_lost}")


if __name__ == "__main__":
    main()
