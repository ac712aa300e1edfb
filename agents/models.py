"""Agents and their minds: persona and live state (the columns the tick updates in bulk), today's
schedule, where they have been, relationships, the memory stream and conversations."""

from django.db import models

from world.models import Activity, Location, World


class Agent(models.Model):
    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=80)
    bio = models.TextField(blank=True)
    traits = models.JSONField(default=list, blank=True)
    interests = models.JSONField(default=dict, blank=True)
    family = models.JSONField(default=dict, blank=True)
    job = models.CharField(max_length=80, blank=True)
    home = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="residents")
    workplace = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="workers"
    )
    work_start = models.PositiveSmallIntegerField(default=9)
    work_end = models.PositiveSmallIntegerField(default=17)
    speed = models.FloatField(default=1.0, help_text="Tiles per game minute.")
    order = models.PositiveIntegerField(default=0)
    # Live state, written in bulk by the tick.
    x = models.IntegerField(default=0)
    y = models.IntegerField(default=0)
    energy = models.FloatField(default=1.0)
    hunger = models.FloatField(default=0.8)
    social = models.FloatField(default=0.7)
    fun = models.FloatField(default=0.7)
    inside = models.IntegerField(default=-1, help_text="Location index, -1 while walking.")
    target = models.IntegerField(default=-1)
    activity = models.IntegerField(default=-1)
    intent = models.IntegerField(default=-1)
    busy_until = models.IntegerField(default=0)
    chat_until = models.IntegerField(default=0)
    blocked = models.IntegerField(default=-1)
    blocked_until = models.IntegerField(default=0)
    tasks_done = models.IntegerField(default=0)
    reflect_acc = models.IntegerField(default=0)
    # Safety switches (set from admin).
    is_active = models.BooleanField(default=True, help_text="Kill switch: inactive agents get no LLM.")
    quarantined = models.BooleanField(default=False)

    class Meta:
        ordering = ["world", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["world", "name"], name="agent_unique_name")]

    def __str__(self):
        return self.name

    @property
    def needs(self) -> dict[str, float]:
        return {"energy": self.energy, "hunger": self.hunger, "social": self.social, "fun": self.fun}


class AgentSchedule(models.Model):
    # Written whole at every day's start (a slot per agent and hour: 120,000 rows at 10,000
    # agents), like the other hot tick tables: no database FK constraints (their deferred checks
    # took 2.8 s of that tick's commit) and no index the unique slot does not already give; the
    # tick writes only ids it took from the database, and deletes still cascade through Django.
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="schedule", db_constraint=False, db_index=False
    )
    day = models.PositiveIntegerField()
    slot_hour = models.PositiveSmallIntegerField()
    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, null=True, blank=True, db_constraint=False, db_index=False
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    partner = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    source = models.CharField(max_length=10, default="rule")

    class Meta:
        ordering = ["agent", "day", "slot_hour"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "day", "slot_hour"], name="schedule_unique_slot")
        ]


class AgentLocationVisit(models.Model):
    # Hot, append-mostly tick tables: no database FK constraint (its deferred check on every row
    # at commit cost a 10,000-agent tick ~60 ms); the tick writes only ids it took from the
    # database, and deletes still cascade through Django.
    # A visit is written when it ends (the tick never updates one): where an agent is now, and
    # since when, is live state (LiveState; `visits_open` in village/state_store.py). Rows written
    # before that change may still have no until_tick. Few indexes: each costs every insert.
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="visits", db_constraint=False, db_index=False
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="visits", db_constraint=False, db_index=False
    )
    day = models.PositiveIntegerField()
    since_tick = models.PositiveIntegerField()
    until_tick = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["agent", "since_tick"]
        indexes = [models.Index(fields=["agent", "since_tick"], name="visit_agent_since")]


class Relationship(models.Model):
    # Upserted by every tick: no database FK constraint (see AgentLocationVisit), and the unique
    # (source, target) index serves lookups by source.
    source = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="relationships", db_index=False, db_constraint=False
    )
    target = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    score = models.FloatField(default=0)
    kind = models.CharField(max_length=40, blank=True)
    interactions = models.PositiveIntegerField(default=0)
    updated_tick = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["source", "-score"]
        constraints = [models.UniqueConstraint(fields=["source", "target"], name="relationship_unique_pair")]

    def __str__(self):
        return f"{self.source} -> {self.target}: {self.score:.1f}"


class Memory(models.Model):
    class Kind(models.TextChoices):
        OBSERVATION = "observation"
        CONVERSATION = "conversation"
        REFLECTION = "reflection"
        PLAN = "plan"
        FACT = "fact"

    # ~1,000 memories a tick at 10,000 agents: only the indexes reads need (agent + kind serves
    # by-agent reads; facts and "about" are rare, so their indexes are partial).
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="memories", db_constraint=False, db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    importance = models.PositiveSmallIntegerField(default=3)
    tick = models.IntegerField(default=0)
    game_minute = models.IntegerField(default=0, help_text="Absolute game minutes when formed.")
    last_access_minute = models.IntegerField(default=0)
    embedding = models.BinaryField(null=True, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    fact_key = models.CharField(max_length=64, blank=True)
    fact_text = models.TextField(blank=True)
    about_agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        ordering = ["agent", "-tick", "-id"]
        indexes = [
            # Reads take an agent's memories newest first (pages, retrieval's candidates).
            models.Index(fields=["agent", "tick"], name="memory_agent_tick"),
            models.Index(fields=["fact_key"], condition=~models.Q(fact_key=""), name="memory_fact_key"),
            models.Index(
                fields=["about_agent"], condition=models.Q(about_agent__isnull=False), name="memory_about"
            ),
        ]

    def __str__(self):
        return self.text[:60]


class Conversation(models.Model):
    # Written by every tick, with its participants: no database FK constraints (their deferred
    # checks ran at every commit; see AgentLocationVisit).
    world = models.ForeignKey(
        World, on_delete=models.CASCADE, related_name="conversations", db_constraint=False
    )
    chat_id = models.CharField(max_length=60)  # unique (a constraint: no pattern index, see Meta)
    kind = models.CharField(max_length=10, default="chat")
    tick = models.PositiveIntegerField()
    day = models.PositiveIntegerField()
    location = models.CharField(max_length=80)
    topic = models.CharField(max_length=120, blank=True)
    participants = models.ManyToManyField(Agent, related_name="conversations", db_constraint=False)
    lines = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["world", "-tick"]
        constraints = [models.UniqueConstraint(fields=["chat_id"], name="conversation_unique_chat")]
