import json
import logging

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from .eventlog import log_events
from .models import Activity, DailyReport, InputLog, Location, Snapshot, TickRecord, World
from .services import world_set_status
from .tasks import world_tick_run

log = logging.getLogger("village.web")


@admin.register(World)
class WorldAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "tick",
        "tick_minutes",
        "start_hour",
        "end_hour",
        "seed",
        "last_tick_at",
    )
    readonly_fields = ("tick", "last_tick_at", "state_version")
    actions = ("run_worlds", "pause_worlds", "step_worlds")

    @admin.action(description="Run the selected worlds", permissions=["change"])
    def run_worlds(self, request, queryset):
        for world in queryset:
            world_set_status(world=world, status=World.Status.RUNNING)
        log.info("admin %s ran worlds %s", request.user.get_username(), [w.id for w in queryset])
        self.message_user(request, f"{queryset.count()} world(s) running.")

    @admin.action(description="Pause the selected worlds", permissions=["change"])
    def pause_worlds(self, request, queryset):
        for world in queryset:
            world_set_status(world=world, status=World.Status.PAUSED)
        log.info("admin %s paused worlds %s", request.user.get_username(), [w.id for w in queryset])
        self.message_user(request, f"{queryset.count()} world(s) paused.")

    @admin.action(description="Step the selected worlds one tick", permissions=["change"])
    def step_worlds(self, request, queryset):
        log.info("admin %s stepped worlds %s", request.user.get_username(), [w.id for w in queryset])
        for world in queryset:
            out = world_tick_run(world_id=world.id)
            if out is None:
                self.message_user(request, f"{world}: the tick was already taken.", messages.WARNING)
            else:
                self.message_user(request, f"{world}: tick {out.tick} done, {len(out.events)} events.")


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "world", "kind", "capacity", "open_hour", "close_hour")
    list_filter = ("world", "kind")


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("name", "world", "category", "duration_minutes")
    list_filter = ("world", "category")


@admin.register(InputLog)
class InputLogAdmin(admin.ModelAdmin):
    list_display = ("id", "world", "kind", "status", "applied_tick", "source", "created_at")
    list_filter = ("world", "kind", "status")


@admin.register(TickRecord)
class TickRecordAdmin(admin.ModelAdmin):
    """A tick and its events (stored packed; shown unpacked, read-only)."""

    list_display = ("world", "tick", "day", "events", "duration_ms", "digest")
    list_filter = ("world", "day")
    exclude = ("log",)
    readonly_fields = ("world", "tick", "day", "digest", "events", "duration_ms", "kinds", "event_table")

    @admin.display(description="events (first 500)")
    def event_table(self, obj):
        rows = log_events(obj.log, obj.day)[:500]
        return format_html(
            "<table><tr><th>seq</th><th>kind</th><th>agent id</th><th>location</th><th>activity</th>"
            "<th>data</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                ((e.seq, e.kind, e.agent_id or "", e.location, e.activity, json.dumps(e.data)) for e in rows),
            ),
        )


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ("id", "world", "tick", "day", "label", "digest", "created_at")
    exclude = ("state",)


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    list_display = ("world", "day", "digest", "created_at")
    readonly_fields = ("metrics",)
