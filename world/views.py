"""World pages: the live map with its controls and time scrubber, and the daily reports. Views
are thin: reads come from `world.selectors`, writes go through `world.services` and the tick."""

from __future__ import annotations

import logging

from django.http import FileResponse, Http404, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from world import selectors
from world.models import World
from world.services import InputError, world_set_speed, world_set_status
from world.tasks import world_tick_run

log = logging.getLogger("village.web")
SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0)


def _world_from(request, world_id: int | None = None) -> World:
    if world_id is None:
        raw = request.GET.get("world", "")
        if raw:
            try:
                world_id = int(raw)
            except ValueError:
                raise Http404("no such world") from None
    world = selectors.world_get_for_viewer(world_id=world_id)
    if world is None:
        raise Http404("no world yet: run `manage.py world_init` or `manage.py runvillage`")
    return world


def _controls_context(request, world: World) -> dict:
    first, last = selectors.scrub_range(world)
    return {
        "world": world,
        "can_operate": selectors.user_can_operate(request.user),
        "speeds": SPEEDS,
        "clock": selectors.world_clock(world),
        "scrub_first": first,
        "scrub_last": last,
    }


@require_GET
def map_page(request):
    world = _world_from(request)
    snapshot = selectors.world_snapshot(world=world)
    context = _controls_context(request, world) | {
        "snapshot": snapshot,
        "places": snapshot["locations"],
        "agents": snapshot["agents"],
        "events": list(reversed(snapshot["events"])),
        "crowded": len(snapshot["agents"]) > 60,
        "legend": selectors.category_legend(),
    }
    return render(request, "world/map.html", context)


@require_POST
def world_control(request, world_id: int):
    world = _world_from(request, world_id)
    action = request.POST.get("action", "")
    if not selectors.user_can_operate(request.user):
        log.warning(
            "refused world control %r on world %s for %s",
            action[:20],
            world.id,
            request.user.get_username() or "anonymous",
        )
        return HttpResponseForbidden("Only village operators can run, pause, step or change speed.")
    try:
        if action in ("run", "pause"):
            world_set_status(
                world=world, status=World.Status.RUNNING if action == "run" else World.Status.PAUSED
            )
        elif action == "step":
            world_tick_run(world_id=world.id)
        elif action == "speed":
            world_set_speed(world=world, tick_seconds=float(request.POST.get("tick_seconds", "")))
        else:
            return HttpResponseBadRequest("unknown action")
    except (InputError, ValueError) as exc:
        return HttpResponseBadRequest(str(exc))
    log.info("world %s: %s by %s", world.id, action, request.user.get_username())
    world.refresh_from_db()
    if not request.htmx:
        return redirect(f"{reverse('world-map')}?world={world.id}")
    return render(request, "world/map.html#controls", _controls_context(request, world))


@require_GET
def world_at(request, tick: int):
    world = _world_from(request)
    try:
        return JsonResponse(
            selectors.world_at_tick(world=world, tick=tick), json_dumps_params={"ensure_ascii": False}
        )
    except selectors.TickOutOfRange as exc:
        return JsonResponse({"error": str(exc), "range": list(selectors.scrub_range(world))}, status=404)


@require_GET
def reports_list(request):
    world = _world_from(request)
    return render(
        request, "reports/list.html", {"world": world, "reports": selectors.reports_for_world(world)}
    )


@require_GET
def report_detail(request, day: int):
    world = _world_from(request)
    report = selectors.report_get(world=world, day=day)
    if report is None:
        raise Http404("no report for that day")
    kinds = [k for k in request.GET.getlist("kind") if k]
    try:
        offset = max(0, int(request.GET.get("offset", 0)))
    except ValueError:
        offset = 0
    context = {
        "world": world,
        "report": report,
        "metrics": report.metrics,
        "pictures": selectors.report_pictures(report),
        "timeline": selectors.report_timeline(world=world, day=day, kinds=kinds, offset=offset),
        "kinds": selectors.event_kinds(world, day),
        "chosen_kinds": kinds,
    }
    if request.htmx and request.GET.get("part") == "timeline":
        return render(request, "reports/detail.html#timeline", context)
    return render(request, "reports/detail.html", context)


@require_GET
def report_picture(request, day: int, name: str):
    world = _world_from(request)
    report = selectors.report_get(world=world, day=day)
    path = selectors.report_picture_path(report=report, name=name) if report else None
    if path is None:
        raise Http404("no such picture")
    return FileResponse(path.open("rb"), content_type="image/png")
