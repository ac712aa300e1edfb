"""Websocket fan-out benchmark: 1,000 agents, 200 browsers, channels_redis.

Builds a generated town (`world_init --generate --agents 1000 --size 120x120`) in a scratch
database, starts Daphne (village.asgi) as a subprocess on the Redis channel layer, connects 200
websocket clients (in a separate process, so the ticking does not slow their clocks) and then
ticks the world in this process through the real `tick_advance` (a couple of warm-up ticks
first, not counted: the day's first frame lists the whole village) in two phases of one run:

  ours   the village's path: after commit, ONE group_send per tick carrying the whole diff
         frame (`world.broadcast.broadcast_tick`);
  naive  one group_send per agent event of the tick (what a per-event `notify` would do).

For each path it reports the share of messages delivered to the clients and the p95 latency
from commit to a client's receipt (every frame and message carries its commit time; for the
naive path each message counts on its own). Only the broadcast runs after commit here (no LLM
jobs, no reports), so the figures are the fan-out's. BENCH_DEBUG=1 prints per-tick spreads and
keeps the scratch folder (with daphne.log); BENCH_DAPHNE_WRAP wraps Daphne (e.g. in cProfile).

    .venv/bin/python bench/ws_fanout.py [--agents 1000] [--clients 200] [--ticks 20]

REDIS_URL picks the Redis server (default redis://127.0.0.1:6379/15, a database of its own);
DATABASE_URL may point at PostgreSQL, else a scratch SQLite file is used. Last line:
RESULT delivered=<fraction> p95_ms=<n> naive_p95_ms=<n> naive_delivered=<fraction>"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAD = re.compile(r'^\{"type":"(\w+)","tick":(\d+),"committed_at":([\d.]+)')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--size", default="120x120")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=20, help="ticks on our path")
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="ticks first broadcast but not counted (the day's first is full)",
    )
    parser.add_argument("--naive-ticks", type=int, default=3)
    parser.add_argument("--period", type=float, default=1.0, help="wall seconds per tick")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the clients are spread over")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(workdir: Path) -> dict:
    env = dict(os.environ)
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    env.update(
        DJANGO_SETTINGS_MODULE="village.settings",
        CELERY_TASK_ALWAYS_EAGER="true",
        VILLAGE_LLM_BACKEND="scripted",
        VILLAGE_LLM_DISPATCH="off",
        VILLAGE_REPORTS_DIR=str(workdir / "reports"),
        LOG_LEVEL="ERROR",
        VILLAGE_LOG_LEVEL="ERROR",
    )
    return env


# --- the browsers (a child process) ----------------------------------------------------------


def clients_main(url: str, origin: str, n: int, ready, stop, results) -> None:
    results.put(asyncio.run(run_clients(url, origin, n, ready, stop)))


async def run_clients(url: str, origin: str, n: int, ready, stop) -> dict:
    import websockets

    async def connect():
        ws = await websockets.connect(url, origin=origin, max_size=None, compression=None, open_timeout=60)
        json.loads(await ws.recv())  # the snapshot
        return ws

    sockets = []
    for start in range(0, n, 20):
        sockets += await asyncio.gather(*(connect() for _ in range(start, min(n, start + 20))))
    received: list[tuple[str, int, float, int]] = []
    closed: list[tuple[int, str]] = []

    async def read(n, ws):
        try:
            async for raw in ws:
                now = time.time()
                head = HEAD.match(raw)
                if head:
                    received.append((head[1], int(head[2]), (now - float(head[3])) * 1000, n))
        except websockets.ConnectionClosed as exc:
            closed.append((n, str(exc)))

    readers = [asyncio.create_task(read(n, ws)) for n, ws in enumerate(sockets)]
    ready.set()
    await asyncio.to_thread(stop.wait)
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*readers, return_exceptions=True)
    return {"received": received, "closed": closed}


# --- the two broadcast paths -----------------------------------------------------------------


def naive_broadcaster(sent: list[int]):
    """One group_send per agent event, each message a small frame about one agent."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from world.broadcast import world_group
    from world.models import World
    from world.selectors import AgentLabeller, event_item, world_agent_rows

    def broadcast(world_id: int, out) -> None:
        committed_at = round(time.time(), 6)
        world = World.objects.get(pk=world_id)
        rows, labeller = world_agent_rows(world), AgentLabeller.for_world(world)
        texts = []
        for e in out.events:
            if e["agent"] is None:
                continue
            row = rows[e["agent"]]
            item = event_item(
                kind=e["kind"],
                agent_id=row[0],
                name=row[1],
                location=e["location"],
                activity=e["activity"],
                data=e["data"],
            )
            texts.append(
                json.dumps(
                    {
                        "type": "event",
                        "tick": out.tick,
                        "committed_at": committed_at,
                        "seq": e["seq"],
                        "agent": labeller.row(*row),
                        "event": item,
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
            )

        async def send_all():
            layer = get_channel_layer()
            for text in texts:
                await layer.group_send(world_group(world_id), {"type": "world.tick", "text": text})

        async_to_sync(send_all)()
        sent.append(len(texts))

    return broadcast


def run_phase(world_id: int, hook, ticks: int, period: float) -> list[int]:
    from village import tick as orchestrator

    orchestrator.AFTER_COMMIT = (hook,)
    done = []
    for _ in range(ticks):
        started = time.monotonic()
        out = orchestrator.tick_advance(world_id=world_id, dispatch_jobs=False)
        done.append(out.tick)
        time.sleep(max(0.0, period - (time.monotonic() - started)))
    return done


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ws_fanout_"))
    env = environment(workdir)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from world.broadcast import broadcast_tick
    from world.models import World

    call_command("migrate", verbosity=0)
    World.objects.filter(name=f"Bench {args.agents}").delete()
    call_command(
        "world_init",
        "--generate",
        "--agents",
        str(args.agents),
        "--size",
        args.size,
        "--seed",
        "1",
        "--name",
        f"Bench {args.agents}",
        "--reset",
    )
    world = World.objects.get(name=f"Bench {args.agents}")
    print(f"world {world.id}: {args.agents} agents on {args.size}; redis {env['REDIS_URL']}", flush=True)

    port = free_port()
    daphne_log = (workdir / "daphne.log").open("wb")
    wrap = os.environ.get("BENCH_DAPHNE_WRAP", "").split()  # e.g. "-m cProfile -o daphne.prof"
    command = [
        sys.executable,
        *wrap,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "village.asgi:application",
    ]
    daphne = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=daphne_log, stderr=subprocess.STDOUT, start_new_session=True
    )
    clients: list = []
    finished = False
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if daphne.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"daphne did not start; see {workdir / 'daphne.log'}")
            time.sleep(0.2)
        ctx = mp.get_context("spawn")
        stop, results = ctx.Event(), ctx.Queue()
        url = f"ws://127.0.0.1:{port}/ws/world/?world={world.id}"
        shares = [
            args.clients // args.client_procs + (k < args.clients % args.client_procs)
            for k in range(args.client_procs)
        ]
        readies = [ctx.Event() for _ in shares]
        for share, ready in zip(shares, readies, strict=True):
            clients.append(
                ctx.Process(
                    target=clients_main, args=(url, f"http://127.0.0.1:{port}", share, ready, stop, results)
                )
            )
            clients[-1].start()
            if not ready.wait(timeout=120):
                raise SystemExit("the websocket clients did not all connect")
        print(f"{args.clients} clients connected after {time.monotonic() - started:.0f}s", flush=True)

        run_phase(world.id, broadcast_tick, args.warmup, args.period)
        time.sleep(1)
        ours = run_phase(world.id, broadcast_tick, args.ticks, args.period)
        time.sleep(2)
        sent: list[int] = []
        naive = run_phase(world.id, naive_broadcaster(sent), args.naive_ticks, args.period)
        time.sleep(5)
        stop.set()
        reports = [results.get(timeout=120) for _ in clients]
        report = {key: [item for r in reports for item in r[key]] for key in ("received", "closed")}
        received = report["received"]
        if os.environ.get("BENCH_DEBUG"):
            from collections import Counter

            print("closed early:", report["closed"][:5])
            print("frames per tick:", sorted(Counter(t for k, t, _, _ in received if k == "tick").items()))
            print(
                "frames received by the first 10 clients:",
                sum(1 for k, _, _, c in received if k == "tick" and c < 10),
            )
            for tick in ours:
                lat = sorted(ms for k, t, ms, _ in received if k == "tick" and t == tick)
                print(
                    f"  tick {tick}: first {lat[0]:.0f} ms, median {lat[len(lat) // 2]:.0f}, last {lat[-1]:.0f}"
                )
        for proc in clients:
            proc.join(timeout=30)
        finished = True
    finally:
        for proc in clients:
            if proc.is_alive():
                proc.terminate()
        stop_process(daphne)
        if finished and not os.environ.get("BENCH_DEBUG"):
            shutil.rmtree(workdir, ignore_errors=True)

    ours_ticks, naive_ticks = set(ours), set(naive)
    ours_lat = [ms for kind, tick, ms, _ in received if kind == "tick" and tick in ours_ticks]
    naive_lat = [ms for kind, tick, ms, _ in received if kind == "event" and tick in naive_ticks]
    delivered = len(ours_lat) / (args.clients * len(ours))
    naive_delivered = len(naive_lat) / max(1, args.clients * sum(sent))
    print(
        f"ours:  {len(ours)} ticks, 1 group_send each: {len(ours_lat)} of {args.clients * len(ours)} frames, "
        f"p50 {percentile(ours_lat, 0.5):.1f} ms, max {max(ours_lat, default=0):.1f} ms"
    )
    print(
        f"naive: {len(naive)} ticks, {sum(sent)} group_sends: {len(naive_lat)} of {args.clients * sum(sent)} "
        f"messages, p50 {percentile(naive_lat, 0.5):.1f} ms"
    )
    print(f"elapsed {time.monotonic() - started:.0f}s")
    print(
        f"RESULT delivered={delivered:.4f} p95_ms={percentile(ours_lat, 0.95):.1f} "
        f"naive_p95_ms={percentile(naive_lat, 0.95):.1f} naive_delivered={naive_delivered:.4f}"
    )


if __name__ == "__main__":
    main()
