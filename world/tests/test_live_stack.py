"""Smoke test of the production stack: Daphne, a Celery worker (ticks + llm queues) and Celery
beat as real subprocesses against PostgreSQL and Redis; a real websocket client must read at
least three consecutive tick frames that beat's ticks produced.

It runs on a database of its own (created, migrated and loaded by subprocesses, dropped after)
and on a Redis database index of its own, so it never touches the test database or a running
village. CI sets DATABASE_URL (PostgreSQL) and REDIS_URL; without both the test is skipped."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


@pytest.fixture
def stack_urls():
    database, redis = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if urlsplit(database).scheme not in ("postgres", "postgresql", "pgsql") or not redis:
        pytest.skip("the stack smoke test needs DATABASE_URL=postgres://… and REDIS_URL (CI sets both)")
    name = f"village_stack_{os.getpid()}"
    admin_url = with_path(database, "/postgres")
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_path(database, f"/{name}"), with_path(redis, f"/{10 + os.getpid() % 6}")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stack_env(database_url: str, redis_url: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update(
        DJANGO_SETTINGS_MODULE="village.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        VILLAGE_BEAT_SECONDS="0.5",
        VILLAGE_LLM_BACKEND="scripted",
        VILLAGE_EMBEDDER="hashing",
        VILLAGE_REPORTS_DIR=str(tmp_path / "reports"),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=240)


def start(name, args, env, tmp_path) -> subprocess.Popen:
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def wait_for_port(port: int, processes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in processes:
            assert proc.poll() is None, f"{proc.args[:4]} exited early with {proc.returncode}"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port}")


async def read_frames(url: str, origin: str, wanted: int, timeout: float) -> tuple[dict, list[dict]]:
    import websockets

    async with websockets.connect(url, origin=origin, max_size=None) as ws:
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), 20))
        frames = []
        async with asyncio.timeout(timeout):
            while len(frames) < wanted:
                frame = json.loads(await ws.recv())
                if frame["tick"] > snapshot["tick"]:  # older ones are already in the snapshot
                    frames.append(frame)
        return snapshot, frames


def test_the_real_stack_ticks_and_streams_frames(stack_urls, tmp_path):
    database_url, redis_url = stack_urls
    env = stack_env(database_url, redis_url, tmp_path)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "world_init")
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE world_world SET status = 'running', tick_seconds = 0.5")
    port = free_port()
    processes = []
    try:
        python = sys.executable
        commands = {
            "daphne": f"-m daphne -b 127.0.0.1 -p {port} village.asgi:application",
            "worker": "-m celery -A village worker -Q ticks,llm -c 2 -l info --without-gossip --without-mingle",
            "beat": f"-m celery -A village beat -l info -s {tmp_path / 'beat-schedule'}",
        }
        for name, command in commands.items():
            processes.append(start(name, [python, *command.split()], env, tmp_path))
        wait_for_port(port, processes)
        snapshot, frames = asyncio.run(
            read_frames(f"ws://127.0.0.1:{port}/ws/world/", f"http://127.0.0.1:{port}", 3, timeout=120)
        )
    except BaseException:
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        stop(processes)
    assert snapshot["type"] == "snapshot" and len(snapshot["agents"]) == 8
    ticks = [f["tick"] for f in frames]
    assert all(f["type"] == "tick" for f in frames)
    assert ticks == list(range(ticks[0], ticks[0] + 3)), f"one frame per tick, in order: {ticks}"
    assert ticks[0] > snapshot["tick"]
    assert all(f["clock"].startswith("day 1 ") and f["agents"] is not None for f in frames)
