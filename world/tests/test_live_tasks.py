"""Periodic ticking (beat task, `tick` command, runvillage's timer) and the admin actions."""

import asyncio
import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from world.management.commands.runvillage import Command as RunVillage
from world.management.commands.runvillage import tick_timer
from world.models import World
from world.tasks import world_tick, world_tick_due, worlds_reserve_due


@pytest.fixture(autouse=True)
def _quiet_llm(settings):
    settings.VILLAGE_LLM_DISPATCH = "off"


@pytest.fixture
def running(world):
    World.objects.filter(pk=world.pk).update(status=World.Status.RUNNING, tick_seconds=2.0)
    return world


def test_a_running_world_is_reserved_once_per_interval(running):
    now = timezone.now()
    assert worlds_reserve_due(now) == [(running.id, 0)]
    assert worlds_reserve_due(now) == []  # a second beat at the same moment gets nothing
    assert worlds_reserve_due(now + timedelta(seconds=1.9)) == []
    assert worlds_reserve_due(now + timedelta(seconds=2.1)) == [(running.id, 0)]


def test_a_paused_world_is_never_due(world):
    assert worlds_reserve_due(timezone.now() + timedelta(days=1)) == []


def test_the_beat_task_advances_a_due_world_once(running):
    assert world_tick_due() == 1
    assert world_tick_due() == 0
    running.refresh_from_db()
    assert running.tick == 1


def test_a_tick_task_for_a_tick_already_taken_does_nothing(running):
    assert world_tick(running.id, 0) == 0
    assert world_tick(running.id, 0) is None
    running.refresh_from_db()
    assert running.tick == 1


def test_the_tick_command_is_the_beat_task_by_hand(running):
    out = StringIO()
    call_command("tick", stdout=out)
    assert "1 tick(s) ran" in out.getvalue()
    call_command("tick", "--world", str(running.id), "--count", "2", stdout=out)
    running.refresh_from_db()
    assert running.tick == 3


def test_the_tick_command_refuses_an_unknown_world(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("tick", "--world", "9999")


def test_admin_actions_run_step_and_pause(client, admin_user, world):
    client.force_login(admin_user)
    url = reverse("admin:world_world_changelist")
    for action in ("run_worlds", "step_worlds"):
        client.post(url, {"action": action, "_selected_action": [world.id]})
    world.refresh_from_db()
    assert (world.status, world.tick) == ("running", 1)
    client.post(url, {"action": "pause_worlds", "_selected_action": [world.id]})
    world.refresh_from_db()
    assert world.status == "paused"


def test_admin_actions_are_logged_and_need_change_permission(client, django_user_model, world, caplog):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("vera", "vera@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_world"))
    client.force_login(viewer)
    url = reverse("admin:world_world_changelist")
    assert client.get(url).status_code == 200
    for action in ("run_worlds", "step_worlds"):
        client.post(url, {"action": action, "_selected_action": [world.id]})
    world.refresh_from_db()
    assert (world.status, world.tick) == ("paused", 0)

    viewer.user_permissions.add(Permission.objects.get(codename="change_world"))
    with caplog.at_level(logging.INFO, logger="village.web"):
        client.post(url, {"action": "step_worlds", "_selected_action": [world.id]})
    world.refresh_from_db()
    assert world.tick == 1 and "admin vera stepped worlds" in caplog.text


def test_runvillage_refuses_a_busy_port_before_doing_anything():
    import socket

    from django.core.management.base import CommandError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"cannot listen on 127.0.0.1:{port}"):
            call_command("runvillage", f"127.0.0.1:{port}", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_runvillage_setup_only_prepares_the_database_and_serves_nothing(monkeypatch, django_user_model):
    monkeypatch.setenv("VILLAGE_ADMIN_PASSWORD", "pw")
    monkeypatch.setattr(RunVillage, "_serve", lambda *a: pytest.fail("--setup-only must not serve"))
    out = StringIO()
    call_command("runvillage", "--setup-only", stdout=out)
    call_command("runvillage", "--setup-only", stdout=out)
    assert World.objects.get().status == "running"
    assert django_user_model.objects.filter(is_superuser=True).count() == 1
    assert out.getvalue().count("created the operator login") == 1


@pytest.mark.django_db(transaction=True)
def test_runvillage_loads_the_scenario_and_creates_an_operator_once(monkeypatch, django_user_model):
    monkeypatch.delenv("VILLAGE_ADMIN_PASSWORD", raising=False)
    command = RunVillage(stdout=StringIO())
    world = command._world_ready()
    assert world.status == "running" and world.agents.count() == 8
    command._admin_ready()
    printed = command.stdout.getvalue()
    assert (
        "admin / " in printed
        and django_user_model.objects.filter(username="admin", is_superuser=True).exists()
    )
    again = RunVillage(stdout=StringIO())
    assert again._world_ready().id == world.id
    again._admin_ready()
    assert "admin /" not in again.stdout.getvalue()


def test_runvillage_reads_addr_and_port():
    command = RunVillage()
    assert command._addrport("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert command._addrport("8001") == ("127.0.0.1", 8001)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_runvillage_timer_ticks_through_the_shared_service(world, monkeypatch):
    # database_sync_to_async closes the worker thread's connection after each call, or it would
    # outlive the test database.
    from channels.db import database_sync_to_async

    await database_sync_to_async(lambda: World.objects.filter(pk=world.pk).update(status="running"))()
    sleeps = []

    async def stop_after_two(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise asyncio.CancelledError

    monkeypatch.setattr("world.management.commands.runvillage.asyncio.sleep", stop_after_two)
    with pytest.raises(asyncio.CancelledError):
        await tick_timer(0.25)
    assert sleeps == [0.25, 0.25]
    assert (
        await database_sync_to_async(World.objects.get)(pk=world.pk)
    ).tick == 1  # the second check was not due
