"""Daily reports: metrics gathered from the day's event log, memories and visits, written as
Markdown and JSON (plus a heatmap and a relationship chart) and stored as a DailyReport row."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import Count

from agents.models import Agent, AgentLocationVisit, Memory
from village.state_store import visits_open, window_of
from world.eventlog import events_of_day
from world.models import Activity, DailyReport, Location, TickRecord, World


def day_digest(tick_digests: list[str]) -> str:
    return hashlib.sha256("\n".join(tick_digests).encode()).hexdigest()


def report_if_day_end(world_id: int, out) -> None:
    """The live village writes a day's report once its last tick has committed."""
    world = World.objects.get(pk=world_id)
    window = window_of(world)
    if window.is_day_end(out.tick):
        report_create(
            world=world,
            day=window.day_of(out.tick),
            fmt=world.options.get("report_format", "both"),
            summary_only=world.options.get("summary_only", False),
        )


NOTABLE = ("scripted", "meeting", "reflect", "board.post", "refused", "plan.adopted", "command.move")


def day_metrics(world: World, day: int) -> dict:
    window = window_of(world)
    first, last = window.first_tick(day), window.first_tick(day + 1) - 1
    events = list(events_of_day(world, day))
    categories = dict(Activity.objects.filter(world=world).values_list("name", "category"))
    names = dict(Agent.objects.filter(world=world).values_list("id", "name"))
    per_category = Counter(categories.get(e.activity, "other") for e in events if e.kind == "activity.start")
    visits = Counter(e.location for e in events if e.kind == "arrive")
    deltas: dict[tuple[str, str], float] = defaultdict(float)
    for e in events:
        for a, b, d in e.data.get("deltas", []) if e.kind in ("chat", "meeting") else []:
            deltas[(names.get(a, str(a)), names.get(b, str(b)))] += d
    ranked = sorted(deltas.items(), key=lambda kv: (-kv[1], kv[0]))
    memories = Memory.objects.filter(agent__world=world, tick__gte=first, tick__lte=last)
    by_kind = dict(memories.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    digests = list(
        TickRecord.objects.filter(world=world, day=day).order_by("tick").values_list("digest", flat=True)
    )
    return {
        "world": world.name,
        "day": day,
        "ticks": len(digests),
        "agents": len(names),
        "events": len(events),
        "activities_by_category": dict(sorted(per_category.items())),
        "location_visits": dict(sorted(visits.items(), key=lambda kv: (-kv[1], kv[0]))),
        "chats": sum(e.kind == "chat" for e in events),
        "meetings": sum(e.kind == "meeting" for e in events),
        "relationships_strengthened": [[a, b, round(d, 2)] for (a, b), d in ranked[:5] if d > 0],
        "relationships_weakened": [[a, b, round(d, 2)] for (a, b), d in reversed(ranked[-5:]) if d < 0],
        "new_memories_by_kind": dict(sorted(by_kind.items())),
        "notable_events": [
            {
                "tick": e.tick,
                "time": window.label(e.tick),
                "kind": e.kind,
                "agent": names.get(e.agent_id),
                "location": e.location,
                "text": e.data.get("description") or e.data.get("title") or e.data.get("reason") or "",
            }
            for e in events
            if e.kind in NOTABLE
        ][:40],
        "llm": llm_budget(world, day, len(names), window.window_minutes / 60),
        "digest": day_digest(digests),
    }


def llm_budget(world: World, day: int, agents: int, hours: float) -> dict:
    """LLM calls and tokens per agent per game hour, from the metering table."""
    try:
        from generation.selectors import usage_for_day
    except ImportError:
        return {"calls": 0, "tokens_in": 0, "tokens_out": 0, "calls_per_agent_hour": 0.0}
    usage = usage_for_day(world=world, day=day)
    agent_hours = max(agents * hours, 1e-9)
    usage["calls_per_agent_hour"] = round(usage["calls"] / agent_hours, 3)
    usage["tokens_per_agent_hour"] = round((usage["tokens_in"] + usage["tokens_out"]) / agent_hours, 1)
    return usage


def render_markdown(m: dict, heatmap: str, chart: str, summary_only: bool) -> str:
    lines = [
        f"# {m['world']} — day {m['day']}",
        "",
        f"Digest: `{m['digest']}`",
        "",
        f"{m['agents']} agents, {m['ticks']} ticks, {m['events']} events, "
        f"{m['chats']} chats, {m['meetings']} meetings.",
        "",
        "## Activities by category",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in m["activities_by_category"].items()] or ["- none"]
    lines += ["", "## Location visits", "", f"![Where people spent the day]({heatmap})", ""]
    lines += [f"- {k}: {v}" for k, v in m["location_visits"].items()] or ["- none"]
    lines += ["", "## Relationships", "", f"![Relationship changes]({chart})", "", "Most strengthened:"]
    lines += [f"- {a} → {b}: +{d}" for a, b, d in m["relationships_strengthened"]] or ["- none"]
    lines += ["", "Most weakened:"]
    lines += [f"- {a} → {b}: {d}" for a, b, d in m["relationships_weakened"]] or ["- none"]
    lines += ["", "## New memories by kind", ""]
    lines += [f"- {k}: {v}" for k, v in m["new_memories_by_kind"].items()] or ["- none"]
    llm = m["llm"]
    lines += [
        "",
        "## LLM budget",
        "",
        f"- calls: {llm['calls']} ({llm['calls_per_agent_hour']} per agent-hour)",
        f"- tokens in/out: {llm['tokens_in']}/{llm['tokens_out']}",
    ]
    if not summary_only:
        lines += ["", "## Notable events", ""]
        lines += [
            f"- {e['time']} {e['kind']} {e['agent'] or ''} {e['location']} {e['text']}".rstrip()
            for e in m["notable_events"]
        ] or ["- none"]
    return "\n".join(lines) + "\n"


def draw_heatmap(world: World, day: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window = window_of(world)
    end = window.first_tick(day + 1)
    heat = np.zeros((world.height, world.width))
    legend = world.legend or {}
    walls = np.array([[legend.get(ch, "wall") == "wall" for ch in row] for row in world.map_rows])
    hours_at: dict[int, float] = defaultdict(float)
    ended = AgentLocationVisit.objects.filter(agent__world=world, day=day).values_list(
        "location_id", "since_tick", "until_tick"
    )
    still_open = [
        (loc_id, since, None) for _, loc_id, since in visits_open(world) if window.day_of(since) == day
    ]
    for loc_id, since, until in [*ended, *still_open]:
        hours_at[loc_id] += (min(until if until is not None else end, end) - since) * window.tick_minutes / 60
    for loc in Location.objects.filter(world=world):
        hours = hours_at[loc.id]
        area = (loc.x1 - loc.x0 + 1) * (loc.y1 - loc.y0 + 1)
        heat[loc.y0 : loc.y1 + 1, loc.x0 : loc.x1 + 1] = hours / area
    fig, ax = plt.subplots(figsize=(max(4, world.width / 6), max(3, world.height / 6)))
    ax.imshow(np.where(walls, np.nan, heat), cmap="magma", interpolation="nearest")
    ax.set_title(f"{world.name} day {day}: agent-hours per tile")
    ax.axis("off")
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def draw_relationships(m: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = m["relationships_strengthened"] + m["relationships_weakened"]
    fig, ax = plt.subplots(figsize=(6, 0.4 * max(3, len(rows)) + 1))
    labels = [f"{a} → {b}" for a, b, _ in rows] or ["(no changes)"]
    values = [d for _, _, d in rows] or [0]
    ax.barh(labels, values, color=["#2a9d8f" if v >= 0 else "#e76f51" for v in values])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title(f"Relationship change, day {m['day']}")
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def report_create(
    *, world: World, day: int, fmt: str = "both", summary_only: bool = False, out_dir: Path | None = None
) -> DailyReport:
    m = day_metrics(world, day)
    out_dir = Path(out_dir or settings.VILLAGE_REPORTS_DIR) / f"world{world.id}"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"day{day:03d}"
    heatmap, chart = f"{stem}_heatmap.png", f"{stem}_relationships.png"
    draw_heatmap(world, day, out_dir / heatmap)
    draw_relationships(m, out_dir / chart)
    markdown = render_markdown(m, heatmap, chart, summary_only)
    md_path = json_path = ""
    if fmt in ("markdown", "both"):
        md_path = str(out_dir / f"{stem}.md")
        Path(md_path).write_text(markdown, encoding="utf-8")
    if fmt in ("json", "both"):
        json_path = str(out_dir / f"{stem}.json")
        Path(json_path).write_text(json.dumps(m, indent=2, ensure_ascii=False), encoding="utf-8")
    report, _ = DailyReport.objects.update_or_create(
        world=world,
        day=day,
        defaults={
            "digest": m["digest"],
            "summary": markdown,
            "metrics": m,
            "markdown_path": md_path,
            "json_path": json_path,
        },
    )
    return report
