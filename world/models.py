"""Worlds and what they are made of: the map, locations, activities, the event log, the input
log, per-tick records, snapshots and daily reports. Agents live in the `agents` app, so rows here
refer to them by plain id (imports point one way: world <- agents)."""

from django.db import models


class World(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        PAUSED = "paused"

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    seed = models.BigIntegerField(default=0)
    tick = models.PositiveIntegerField(default=0, help_text="The next tick to run.")
    tick_minutes = models.PositiveSmallIntegerField(default=15)
    start_hour = models.PositiveSmallIntegerField(default=8)
    end_hour = models.PositiveSmallIntegerField(default=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PAUSED)
    tick_seconds = models.FloatField(default=2.0, help_text="Wall seconds between ticks when running.")
    last_tick_at = models.DateTimeField(null=True, blank=True)
    max_concurrent_chats = models.PositiveSmallIntegerField(default=0)
    map_rows = models.JSONField(default=list)
    legend = models.JSONField(default=dict)
    scripted_events = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)
    state_version = models.PositiveIntegerField(
        default=0, help_text="Bumped when agents or places change, so cached engine state reloads."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Read only when the world's state is loaded; the tick's claim leaves them out.
    LOAD_ONLY_FIELDS = ("description", "map_rows", "legend", "scripted_events")

    def __str__(self):
        return self.name

    @property
    def width(self) -> int:
        return len(self.map_rows[0]) if self.map_rows else 0

    @property
    def height(self) -> int:
        return len(self.map_rows)


class Location(models.Model):
    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=20)
    x0 = models.PositiveIntegerField()
    y0 = models.PositiveIntegerField()
    x1 = models.PositiveIntegerField()
    y1 = models.PositiveIntegerField()
    capacity = models.PositiveIntegerField()
    open_hour = models.PositiveSmallIntegerField(default=0)
    close_hour = models.PositiveSmallIntegerField(default=24)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["world", "order"]
        constraints = [
            models.UniqueConstraint(fields=["world", "name"], name="location_unique_name"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="location_capacity_positive"),
        ]

    def __str__(self):
        return self.name

    @property
    def area(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


class Activity(models.Model):
    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="activities")
    name = models.CharField(max_length=80)
    category = models.CharField(max_length=20)
    duration_minutes = models.PositiveIntegerField()
    locations = models.JSONField(default=list, help_text="Location kinds where it can happen.")
    effects = models.JSONField(default=dict)
    prompt_template = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["world", "order"]
        verbose_name_plural = "activities"
        constraints = [models.UniqueConstraint(fields=["world", "name"], name="activity_unique_name")]

    def __str__(self):
        return self.name


class InputLog(models.Model):
    """Everything from outside the engine that changed the world, in the order it was applied:
    console and API commands and LLM results. Replay reads it back instead of calling anyone."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        REJECTED = "rejected"

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="inputs")
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    source = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    applied_tick = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["world", "id"]
        indexes = [models.Index(fields=["world", "status"]), models.Index(fields=["world", "applied_tick"])]

    def __str__(self):
        return f"{self.kind} ({self.status})"


class TickRecord(models.Model):
    """One row per tick run: its digest, timing and its events (packed: world/eventlog.py)."""

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="tick_records", db_index=False)
    tick = models.PositiveIntegerField()
    day = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    events = models.PositiveIntegerField(default=0)
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # The tick's events, packed (world/eventlog.py), and how many of each kind it holds.
    log = models.BinaryField(default=b"", editable=False)
    kinds = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["world", "tick"]
        constraints = [models.UniqueConstraint(fields=["world", "tick"], name="tick_record_unique")]
        indexes = [models.Index(fields=["world", "day"], name="tick_record_day")]


class LiveState(models.Model):
    """The engine's live per-agent arrays for a world as of `tick` (packed numpy arrays), written by
    every tick in one statement. This is what a reload reads; the agents' own live columns carry
    the same values for pages and the API and, in big worlds, are refreshed a slice per tick
    (village/state_store.py)."""

    world = models.OneToOneField(World, on_delete=models.CASCADE, primary_key=True, related_name="live_state")
    tick = models.PositiveIntegerField()
    agents = models.PositiveIntegerField(default=0)
    data = models.BinaryField()

    def __str__(self):
        return f"{self.world_id} live state at tick {self.tick}"


class Snapshot(models.Model):
    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="snapshots")
    tick = models.PositiveIntegerField()
    day = models.PositiveIntegerField()
    label = models.CharField(max_length=80, blank=True)
    state = models.JSONField()
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["world", "-tick", "-id"]

    def __str__(self):
        return f"{self.world} tick {self.tick} {self.label}"


class DailyReport(models.Model):
    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="reports")
    day = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    summary = models.TextField()
    metrics = models.JSONField(default=dict)
    markdown_path = models.CharField(max_length=300, blank=True)
    json_path = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["world", "-day"]
        constraints = [models.UniqueConstraint(fields=["world", "day"], name="report_unique_day")]

    def __str__(self):
        return f"{self.world} day {self.day}"
