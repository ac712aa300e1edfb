"""The aiDollar economy: an append-only ledger (the database refuses UPDATE and DELETE, see
migration 0002), tier grants that raise or set an agent's compute tier, per-agent and personal
API tokens (stored as sha256 digests), idempotency records for money-moving requests, and the
audit log.

Money is integer aiDollar cents everywhere. Rows that point at agents, users or posts from the
ledger use `db_constraint=False` + `DO_NOTHING`: deleting an agent or a post must never try to
UPDATE or DELETE a ledger row (the triggers would refuse), and history outlives what it names."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from agents.models import Agent


class LedgerEntry(models.Model):
    class Reason(models.TextChoices):
        REWARD = "reward"
        PENALTY = "penalty"
        DEPOSIT_CREDIT = "deposit_credit"
        PURCHASE_COMPUTE = "purchase_compute"
        WAGE = "wage"

    class Source(models.TextChoices):
        USER = "user"
        AGENT = "agent"
        SYSTEM = "system"

    CREDITS = (Reason.REWARD, Reason.DEPOSIT_CREDIT, Reason.WAGE)
    DEBITS = (Reason.PENALTY, Reason.PURCHASE_COMPUTE)

    # Wages add a row per finished block of work every tick: the indexes are the ones reads need
    # (agent + reason serves by-agent reads; the optional references are indexed where set).
    agent = models.ForeignKey(
        Agent, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="ledger_entries"
    )
    amount = models.BigIntegerField(help_text="aiDollar cents; positive credits, negative debits.")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    source_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    source_agent = models.ForeignKey(
        Agent,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    related_post = models.ForeignKey(
        "board.Post",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    external_txn_id = models.CharField(max_length=120, null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    tick = models.PositiveIntegerField(null=True, blank=True, help_text="Game tick, for wages.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agent", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["agent", "reason"]),
            models.Index(
                fields=["source_user"], condition=Q(source_user__isnull=False), name="ledger_source_user"
            ),
            models.Index(
                fields=["source_agent"], condition=Q(source_agent__isnull=False), name="ledger_source_agent"
            ),
            models.Index(
                fields=["related_post"], condition=Q(related_post__isnull=False), name="ledger_related_post"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_txn_id"],
                condition=Q(external_txn_id__isnull=False),
                name="ledger_unique_external_txn",
            ),
            models.CheckConstraint(
                condition=(Q(reason__in=["reward", "deposit_credit", "wage"]) & Q(amount__gt=0))
                | (Q(reason__in=["penalty", "purchase_compute"]) & Q(amount__lt=0)),
                name="ledger_amount_sign_matches_reason",
            ),
        ]

    def __str__(self):
        return f"{self.reason} {self.amount:+d}c -> agent {self.agent_id}"


class TierGrant(models.Model):
    """A tier that is not derived from the balance: an admin override (sets the tier, up or down)
    or a bought boost (a floor while it lasts). Game ticks bound both; None lasts until revoked."""

    class Kind(models.TextChoices):
        OVERRIDE = "override"
        BOOST = "boost"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="tier_grants")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tier = models.CharField(max_length=10)
    until_tick = models.PositiveIntegerField(null=True, blank=True)
    ledger_entry = models.ForeignKey(
        LedgerEntry, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agent", "-id"]
        indexes = [models.Index(fields=["agent", "revoked_at"])]

    def __str__(self):
        return f"{self.kind} {self.tier} for agent {self.agent_id}"


class ApiToken(models.Model):
    """A bearer token: an agent's own (acts only as that agent) or a human's personal token. Only
    the sha256 digest is stored; the plaintext is shown once when issued."""

    class Kind(models.TextChoices):
        AGENT = "agent"
        PERSONAL = "personal"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens"
    )
    name = models.CharField(max_length=80, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise a token.")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="agent") & Q(agent__isnull=False) & Q(user__isnull=True))
                | (Q(kind="personal") & Q(user__isnull=False) & Q(agent__isnull=True)),
                name="api_token_owner_matches_kind",
            ),
        ]

    def __str__(self):
        return f"{self.kind} token {self.prefix}…"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first successful response to a money-moving request with an `Idempotency-Key`; a
    replay by the same principal gets it back and writes nothing."""

    principal = models.CharField(max_length=80)
    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=80)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key")]


class AuditLog(models.Model):
    """Who did what to money, moderation, tiers, tokens and safety switches. Plain ids, so the
    record outlives what it talks about."""

    # Every wage (one per shift) writes an audit row: a plain index on action (no pattern index), the
    # actor's index only where there is one, no FK constraint (the record outlives its subject).
    action = models.CharField(max_length=40)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    actor_agent_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(
        max_length=120, blank=True, help_text="Readable actor: user:name, agent:name, system."
    )
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["action"], name="audit_action"),
            models.Index(
                fields=["actor_user"], condition=Q(actor_user__isnull=False), name="audit_actor_user"
            ),
        ]

    def __str__(self):
        return f"{self.action} {self.target_type}:{self.target_id} by {self.actor}"


class AgentControl(Agent):
    """The agents admin seen from the economy: balance, tier, tokens and the safety switches."""

    class Meta:
        proxy = True
        verbose_name = "agent compute & safety"
        verbose_name_plural = "agents: compute & safety"
