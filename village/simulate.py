"""Bounded runs from the command line: configure the world for the run, advance it tick by tick
through the same `tick_advance` the live village uses, and write a report at each day's end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings

from generation import services as llm_services
from village import state_store as store
from village.tick import tick_advance
from world.engine.clock import DayWindow
from world.models import DailyReport, World
from world.scenario import load_scripted_events

REPORT_FORMATS = ("markdown", "json", "both")


class SimulateError(ValueError):
    pass


@dataclass
class RunConfig:
    days: int = 1
    agents: int | None = None
    tick_minutes: int | None = None
    start_hour: int | None = None
    end_hour: int | None = None
    seed: int | None = None
    dry_run: bool = False
    llm: str | None = None
    scripted_events: str | None = None
    max_concurrent_chats: int | None = None
    report_format: str = "both"
    summary_only: bool = False


@dataclass
class DayResult:
    day: int
    digest: str
    markdown_path: str
    json_path: str
    seconds: float
    extra: dict = field(default_factory=dict)


def configure(world: World, cfg: RunConfig) -> World:
    """Apply the run's settings to the world; refuse changes that would rewrite its clock."""
    window = DayWindow(
        cfg.start_hour if cfg.start_hour is not None else world.start_hour,
        cfg.end_hour if cfg.end_hour is not None else world.end_hour,
        cfg.tick_minutes if cfg.tick_minutes is not None else world.tick_minutes,
    )
    if cfg.days < 1:
        raise SimulateError("--days must be at least 1")
    changed_clock = (window.start_hour, window.end_hour, window.tick_minutes) != (
        world.start_hour,
        world.end_hour,
        world.tick_minutes,
    )
    if world.tick and changed_clock:
        raise SimulateError("this world has already run with another day window; use world_init --reset")
    if world.tick % window.ticks_per_day:
        raise SimulateError(f"world is mid-day (tick {world.tick}); finish the day first")
    if cfg.seed is not None and world.tick and cfg.seed != world.seed:
        raise SimulateError("this world has already run with another seed; use world_init --reset")
    if cfg.agents is not None and cfg.agents < 1:
        raise SimulateError("--agents must be at least 1")
    world.start_hour, world.end_hour, world.tick_minutes = (
        window.start_hour,
        window.end_hour,
        window.tick_minutes,
    )
    if cfg.seed is not None:
        world.seed = cfg.seed
    if cfg.max_concurrent_chats is not None:
        if cfg.max_concurrent_chats < 0:
            raise SimulateError("--max-concurrent-chats must be 0 (no cap) or more")
        world.max_concurrent_chats = cfg.max_concurrent_chats
    if cfg.scripted_events:
        places = set(world.locations.values_list("name", flat=True))
        agents = set(world.agents.values_list("name", flat=True))
        events = load_scripted_events(cfg.scripted_events, places, agents)
        world.scripted_events = list(world.scripted_events) + [e.model_dump() for e in events]
    if cfg.agents is not None:
        world.options = {**world.options, "agent_limit": cfg.agents}
    if cfg.report_format not in REPORT_FORMATS:
        raise SimulateError(f"--report-format must be one of {', '.join(REPORT_FORMATS)}")
    world.options = {
        **world.options,
        "llm_backend": "scripted" if cfg.dry_run else (cfg.llm or settings.VILLAGE_LLM_BACKEND),
        # A dry run calls no model at all: memories get the hashing embedder, not MiniLM.
        "embedder": "hashing" if cfg.dry_run else settings.VILLAGE_EMBEDDER,
        # Read by the day-end report hook (village.reports.report_if_day_end).
        "report_format": cfg.report_format,
        "summary_only": cfg.summary_only,
    }
    world.state_version += 1
    world.save()
    store.state_forget(world.id)
    return world


def simulate_run(*, world: World, cfg: RunConfig, progress=None) -> list[DayResult]:
    world = configure(world, cfg)
    previous, llm_services.DISPATCH_OVERRIDE = llm_services.DISPATCH_OVERRIDE, "inline"
    try:
        return _run_days(world, cfg, progress)
    finally:
        llm_services.DISPATCH_OVERRIDE = previous


def _run_days(world: World, cfg: RunConfig, progress) -> list[DayResult]:
    window = store.window_of(world)
    results = []
    for _ in range(cfg.days):
        started = time.perf_counter()
        day = window.day_of(world.tick)
        for _ in range(window.ticks_per_day):
            tick_advance(world_id=world.id)
            if progress:
                progress()
        world.refresh_from_db()
        report = DailyReport.objects.get(world=world, day=day)
        results.append(
            DayResult(
                day,
                report.digest,
                report.markdown_path,
                report.json_path,
                time.perf_counter() - started,
                report.metrics.get("llm", {}),
            )
        )
    return results
