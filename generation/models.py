"""The LLM service's records: a response cache keyed by prompt hash, and one metering row per job
(who asked, which backend, tokens in/out, latency, and whether the output was ok, repaired, a
fallback, or denied by the agent's compute entitlement)."""

from django.db import models

from agents.models import Agent
from world.models import World


class LLMCacheEntry(models.Model):
    prompt_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20)
    model = models.CharField(max_length=120)
    response = models.TextField()
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "LLM cache entries"

    def __str__(self):
        return f"{self.kind} {self.prompt_hash[:12]}"


class LLMCall(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok"
        REPAIRED = "repaired"
        FALLBACK = "fallback"
        DENIED = "denied"

    world = models.ForeignKey(World, on_delete=models.CASCADE, null=True, blank=True, related_name="llm_calls")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, null=True, blank=True, related_name="llm_calls")
    kind = models.CharField(max_length=20)
    job_id = models.CharField(max_length=80, blank=True)
    backend = models.CharField(max_length=20)
    model = models.CharField(max_length=120, blank=True)
    cached = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(default=0)
    game_day = models.PositiveIntegerField(default=0)
    game_hour = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["agent", "game_day", "game_hour"]),
            models.Index(fields=["world", "game_day"]),
        ]

    def __str__(self):
        return f"{self.kind} {self.outcome} ({self.tokens_in}/{self.tokens_out})"
