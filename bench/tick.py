"""Benchmark the village tick against Mesa 3 on the same rules, in one process.

Ours: a generated town (`world.generate`, seeded) loaded into PostgreSQL and advanced through the
real `village.tick.tick_advance` — claim, engine, bulk persistence in one transaction, commit,
after-commit hooks — with LLM dispatch off. We time ticks inside the day: the day's first tick
(which loads the state, snapshots the world and writes everyone's schedule) and the warm-up ticks
are reported apart, and the daily report runs at the day's last tick, never reached. Loading the
state computes the walking fields towards every place, as building the Mesa model does.

Mesa: the same town and the same rules for the parts both implement — each hour's destination
and activity from the same rule-based agenda, walking at speed along shortest paths (the same
shared per-destination direction fields, computed when the model is built and read per agent
per step), opening hours and capacity on arrival, needs decaying and restored by activities —
as a `mesa.Model` whose agents do that per-agent logic in Python on a `MultiGrid`, in memory,
activated in random order each step. Ours also pairs chats, writes memories and events, and
persists everything; Mesa does none of that.

The two are measured over the same minutes: the Mesa model of a size is built after our
day-start and warm-up ticks of that size and steps once after each of our measured ticks, outside
their timing (this 2-core VM's speed drifts by tens of percent from minute to minute).

Reported per size: agent-steps/s for both, our median and p95 tick (claim to commit, and on until
the next tick's engine step, which runs ahead on the packing thread while this tick's rows go in,
is done; the after-commit hooks — the live-map broadcast — are timed apart, after it), our tick's
parts, peak memory (max RSS, taken
before the Mesa model of that size is built), and the slope of our tick time against agents
(least squares). The last line is
`RESULT agents=10000 tick_ms_median=<n> mesa_ratio=<ours/mesa> peak_mb=<n>`.

    python bench/tick.py                 # 1k, 10k, 50k agents
    python bench/tick.py --sizes 1000,10000 --ticks 20
    python bench/tick.py --quick         # 1k and 10k, fewer ticks
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "village.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/village_bench")
# As in production: with DEBUG on, Django wraps every cursor to log its queries.
os.environ.setdefault("DEBUG", "0")

MAPS = {1000: "120x120", 10000: "200x200", 50000: "400x400"}
SEED = 1
STEP = np.array([(0, -1), (1, 0), (0, 1), (-1, 0), (0, 0)])


def map_for(agents: int) -> str:
    if agents in MAPS:
        return MAPS[agents]
    side = max(60, int(8 * (agents / 4 / 6) ** 0.5 * 1.3) + 8)
    return f"{side}x{side}"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- setup -------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the benchmark database when it is missing (PostgreSQL only)."""
    parts = urlparse(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg

    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(reports: str) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.VILLAGE_REPORTS_DIR = Path(reports)
    call_command("migrate", verbosity=0)


def town(agents: int, size: str) -> dict:
    from world.generate import generate_scenario, parse_size

    width, height = parse_size(size)
    return generate_scenario(agents=agents, width=width, height=height, seed=SEED, name=f"bench {agents}")


# --- ours ----------------------------------------------------------------------------------------


def run_ours(agents: int, size: str, ticks: int, warm: int, peer=None) -> dict:
    """Our ticks; with `peer` (a function that builds the Mesa model), the peer is built after our
    day-start and warm-up ticks and steps once after each of our measured ticks, outside their
    timing, so both are measured over the same minutes of this machine's (varying) speed."""
    from village import tick as village_tick
    from village.loading import world_create_from_scenario
    from world.scenario import ScenarioSpec, check_integrity

    spec = ScenarioSpec.model_validate(town(agents, size))
    check_integrity(spec, "(bench)")
    started = time.perf_counter()
    world = world_create_from_scenario(spec=spec, reset=True, seed=SEED)
    create_s = time.perf_counter() - started
    spent: dict[str, float] = {}

    def timed(name, fn):
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                # The engine steps on the packing thread when a tick is stepped ahead (see
                # village/tick.py): that time overlaps the main thread's and is reported apart.
                key = name if threading.current_thread() is threading.main_thread() else f"{name} ahead"
                spent[key] = spent.get(key, 0.0) + (time.perf_counter() - t0) * 1000

        return run

    saved = {
        "engine_step": village_tick.engine_step,
        "persist": village_tick.persist,
        "SIDE_EFFECTS": village_tick.SIDE_EFFECTS,
        "wages_pay": village_tick.wages_pay,
        "AFTER_COMMIT": village_tick.AFTER_COMMIT,
    }
    village_tick.engine_step = timed("engine", saved["engine_step"])
    village_tick.persist = timed("persist", saved["persist"])
    village_tick.SIDE_EFFECTS = tuple(timed("side effects", f) for f in saved["SIDE_EFFECTS"])
    village_tick.wages_pay = timed("side effects", saved["wages_pay"])
    # The after-commit hooks run after the tick's step ahead is done, timed apart (on_commit would
    # run them while the packing thread still steps the next tick, hiding that work in theirs).
    village_tick.AFTER_COMMIT = ()
    hooks = tuple(timed("hooks", f) for f in saved["AFTER_COMMIT"])
    model, peer_times, peak_alone = None, [], None
    try:
        commits, totals, parts, events = [], [], [], []
        for n in range(1 + warm + ticks):
            if n == 1 + warm:
                peak_alone = peak_mb()
                if peer is not None:
                    model, build_s = peer()
                    for _ in range(1 + warm):  # the peer's own first and warm-up steps
                        model.step()
            spent.clear()
            t0 = time.perf_counter()
            out = village_tick.tick_advance(world_id=world.id, dispatch_jobs=False)
            village_tick.ahead_wait(world.id)  # the next tick's engine step is this tick's work
            commits.append((time.perf_counter() - t0) * 1000)
            for hook in hooks:
                hook(world.id, out)
            totals.append(commits[-1] + spent.get("hooks", 0.0))
            named = ("engine", "persist", "side effects")
            parts.append({**spent, "the rest": commits[-1] - sum(spent.get(name, 0.0) for name in named)})
            events.append(len(out.events))
            if model is not None:
                t0 = time.perf_counter()
                model.step()
                peer_times.append((time.perf_counter() - t0) * 1000)
    finally:
        for name, value in saved.items():
            setattr(village_tick, name, value)
    from village.state_store import state_forget

    state_forget(world.id)  # the next size's run should not carry this one's state
    measured = commits[1 + warm :]
    mesa = None
    if model is not None:
        mesa = {
            "build_s": build_s,
            "median_ms": statistics.median(peer_times),
            "p95_ms": float(np.percentile(peer_times, 95)),
        }
    return {
        "mesa": mesa,
        "peak_mb": peak_alone,
        "create_s": create_s,
        "day_start_ms": commits[0],
        "warm_ms": commits[1 : 1 + warm],
        "median_ms": statistics.median(measured),
        "p95_ms": float(np.percentile(measured, 95)),
        "hooks_ms": statistics.median(p.get("hooks", 0.0) for p in parts[1 + warm :]),
        "parts": {
            name: statistics.median(p.get(name, 0.0) for p in parts[1 + warm :])
            for name in ("engine", "engine ahead", "persist", "side effects", "the rest")
        },
        "total_ms": statistics.median(totals[1 + warm :]),
        "events": statistics.mean(events[1 + warm :]),
        "world": world,
    }


# --- Mesa --------------------------------------------------------------------------------------


def build_mesa(agents: int, size: str):
    """The Mesa model of the same town and rules, and the seconds it took to build."""
    import mesa
    from mesa.space import MultiGrid

    from world.engine.build import build_state
    from world.engine.clock import DayWindow
    from world.engine.policy import build_agendas
    from world.engine.rng import stream
    from world.engine.tables import tables_of
    from world.scenario import DEFAULT_LEGEND

    data = town(agents, size)
    rows = [dict(a, id=n + 1) for n, a in enumerate(data["agents"])]
    state = build_state(
        world_id=0,
        seed=SEED,
        tick=0,
        window=DayWindow(),
        map_rows=data["map"]["rows"],
        legend=DEFAULT_LEGEND,
        locations=data["locations"],
        activities=data["activities"],
        agents=rows,
    )
    # The same agenda the village's rule-based policy gives everyone for the day (shared input).
    plan_act, plan_loc = build_agendas(state, tables_of(state), stream(SEED, "policy", 0, "agenda").random((4, agents, 24)))
    grid = state.grid
    locs, acts = state.locations, state.activities

    class Town(mesa.Model):
        def __init__(self):
            super().__init__(rng=SEED)
            self.space = MultiGrid(grid.width, grid.height, torus=False)
            self.t = 0
            self.window = state.window
            self.occupancy = [0] * len(locs.names)
            self.capacity = locs.capacity.tolist()
            self.open_hour, self.close_hour = locs.open_hour.tolist(), locs.close_hour.tolist()
            self.anchor = [tuple(a) for a in locs.anchor.tolist()]
            self.duration = [state.window.ticks_for(int(d)) for d in acts.duration]
            self.effects = (acts.effects * (state.window.tick_minutes / 60)).tolist()
            self.decay = (np.array([0.05, 0.08, 0.05, 0.04]) * state.window.tick_minutes / 60).tolist()
            # The direction field towards each place, computed when the model is built and
            # shared by every walker (as ours computes them when a world is loaded for ticking).
            cells = [y * grid.width + x for x, y in self.anchor]
            self.fields = [row.tobytes() for row in grid.direction_fields(cells)]
            for n in range(agents):
                Walker(self, n)

        def field(self, place: int) -> bytes:
            return self.fields[place]

        def step(self):
            self.hour = self.window.hour_of(self.t)
            self.agents.shuffle_do("step")
            self.t += 1

    class Walker(mesa.Agent):
        def __init__(self, model, n):
            super().__init__(model)
            self.home = int(state.agents.home[n])
            self.plan_act, self.plan_loc = plan_act[n].tolist(), plan_loc[n].tolist()
            self.steps = max(1, int(float(state.agents.speed[n]) * state.window.tick_minutes))
            self.needs = [1.0, 0.8, 0.7, 0.7]
            self.inside, self.target, self.activity, self.busy_until = self.home, self.home, -1, 0
            self.blocked, self.blocked_until = -1, 0
            model.occupancy[self.home] += 1
            model.space.place_agent(self, model.anchor[self.home])

        def step(self):
            m = self.model
            if self.inside >= 0 and self.busy_until <= m.t:
                self.decide(m)
            if self.inside < 0 and self.target >= 0:
                self.walk(m)
            self.update_needs(m)

        def is_open(self, m, place):
            return m.open_hour[place] <= m.hour < m.close_hour[place]

        def decide(self, m):
            place, act = self.plan_loc[m.hour], self.plan_act[m.hour]
            if self.needs[0] < 0.15:
                place, act = self.home, -1
            if (self.blocked == place and self.blocked_until > m.t) or not self.is_open(m, place):
                place, act = self.home, -1
            if place == self.inside:
                self.activity = act
                self.busy_until = m.t + (m.duration[act] if act >= 0 else 4)
            else:
                m.occupancy[self.inside] -= 1
                self.inside, self.target, self.activity = -1, place, act

        def walk(self, m):
            field, width = m.field(self.target), grid.width
            x, y = self.pos
            cell = y * width + x
            for _ in range(self.steps):
                code = field[cell]
                if code == 4:
                    break
                dx, dy = STEP_LIST[code]
                cell += dy * width + dx
            x, y = cell % width, cell // width
            if (x, y) != self.pos:
                m.space.move_agent(self, (x, y))
            if (x, y) == m.anchor[self.target]:
                place = self.target
                if self.is_open(m, place) and m.occupancy[place] < m.capacity[place]:
                    m.occupancy[place] += 1
                    self.inside = place
                    self.busy_until = m.t + (m.duration[self.activity] if self.activity >= 0 else 4)
                else:
                    self.blocked, self.blocked_until, self.target = place, m.t + 4, self.home

        def update_needs(self, m):
            needs, decay = self.needs, m.decay
            busy = self.inside >= 0 and self.activity >= 0
            effects = m.effects[self.activity] if busy else None
            for k in range(4):
                v = needs[k] - decay[k] + (effects[k] if busy else 0.0)
                if k == 0 and self.inside < 0:
                    v -= 0.005
                needs[k] = 0.0 if v < 0.0 else 1.0 if v > 1.0 else v

    STEP_LIST = [tuple(s) for s in STEP.tolist()]
    random.seed(SEED)
    started = time.perf_counter()
    model = Town()
    return model, time.perf_counter() - started


# --- report ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma-separated agent counts")
    parser.add_argument("--ticks", type=int, default=24, help="measured ticks per size (ours and Mesa)")
    parser.add_argument("--warm", type=int, default=2, help="warm-up ticks after the day's first")
    parser.add_argument("--quick", action="store_true", help="1k and 10k agents, 10 ticks")
    args = parser.parse_args()
    sizes = [1000, 10000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    ticks = 10 if args.quick else args.ticks
    url = os.environ["DATABASE_URL"]
    ensure_database(url)
    setup_django(tempfile.mkdtemp(prefix="bench-tick-"))
    from django.db import connection

    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}, "
          f"{connection.vendor} ({connection.settings_dict['NAME']}), load {os.getloadavg()[0]:.2f}")
    ours, mesa_runs, peaks = {}, {}, {}
    for agents in sorted(sizes):
        size = map_for(agents)
        gc.collect()
        ours[agents] = o = run_ours(agents, size, ticks, args.warm, peer=functools.partial(build_mesa, agents, size))
        peaks[agents], mesa_runs[agents] = o["peak_mb"], o["mesa"]
        print(
            f"ours  {agents:>6} agents {size:>8}: tick median {o['median_ms']:8.1f} ms  p95 {o['p95_ms']:8.1f} ms  "
            f"({agents / o['median_ms'] * 1000:>10,.0f} agent-steps/s)  after-commit hooks {o['hooks_ms']:.1f} ms  "
            f"day start {o['day_start_ms']:.0f} ms  warm-up {', '.join(f'{w:.0f}' for w in o['warm_ms'])} ms  "
            f"events/tick {o['events']:.0f}  world created in {o['create_s']:.1f} s  max RSS {peaks[agents]:.0f} MB",
            flush=True,
        )
        print(
            "      median parts: "
            + "  ".join(f"{name} {ms:.1f} ms" for name, ms in o["parts"].items())
            + " (claim, load, inputs, visits, commit, waiting for the step ahead)",
            flush=True,
        )
        del o["world"]
        m = mesa_runs[agents]
        print(
            f"mesa  {agents:>6} agents {size:>8}: step median {m['median_ms']:8.1f} ms  p95 {m['p95_ms']:8.1f} ms  "
            f"({agents / m['median_ms'] * 1000:>10,.0f} agent-steps/s)  built in {m['build_s']:.1f} s",
            flush=True,
        )
    xs = np.array(sorted(sizes), float)
    ys = np.array([ours[a]["median_ms"] for a in sorted(sizes)])
    if len(xs) >= 2:
        slope, intercept = np.polyfit(xs, ys, 1)
        fit = slope * xs + intercept
        r2 = 1 - ((ys - fit) ** 2).sum() / max(((ys - ys.mean()) ** 2).sum(), 1e-12)
        per_agent = ", ".join(f"{a}: {ours[a]['median_ms'] / a * 1000:.1f}" for a in sorted(sizes))
        print(f"slope: {slope * 1000:.2f} ms per 1,000 agents (intercept {intercept:.1f} ms, R^2 {r2:.3f}); "
              f"us per agent-step: {per_agent}")
    for a in sorted(sizes):
        print(f"ratio {a:>6}: ours/mesa agent-steps/s = {mesa_runs[a]['median_ms'] / ours[a]['median_ms']:.2f}")
    key = 10000 if 10000 in ours else max(ours)
    print(
        f"RESULT agents={key} tick_ms_median={ours[key]['median_ms']:.1f} "
        f"mesa_ratio={mesa_runs[key]['median_ms'] / ours[key]['median_ms']:.2f} peak_mb={peaks[key]:.0f}"
    )


if __name__ == "__main__":
    main()
