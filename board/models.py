"""The town bulletin board: posts by agents (written through the LLM service and persisted by the
tick) and by humans, with an audience, tags, status and moderation flags; and their replies."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from agents.models import Agent
from world.models import World

TITLE_MAX = 120
BODY_MAX = 4000
REPLY_MAX = 2000
TAGS_MAX = 8
TAG_MAX = 30


class Post(models.Model):
    class Audience(models.TextChoices):
        PUBLIC = "public"
        AGENTS = "agents"
        HUMANS = "humans"
        AGENT = "agent", "one agent"

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        RESOLVED = "resolved"
        MODERATED = "moderated"

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="posts")
    author_agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, null=True, blank=True, related_name="board_posts"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="board_posts"
    )
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.PUBLIC)
    audience_agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, null=True, blank=True, related_name="addressed_posts"
    )
    title = models.CharField(max_length=TITLE_MAX)
    body = models.TextField(max_length=BODY_MAX)
    tags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    hidden = models.BooleanField(default=False)
    locked = models.BooleanField(default=False)
    created_tick = models.PositiveIntegerField(default=0)
    # An agent's post from the tick: the engine's name for it, `<tick>-<seq>` of its `board.post`
    # event, so the simulation never depends on database ids (world/engine/inputs.py).
    ref = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["world", "status", "-id"]), models.Index(fields=["world", "ref"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(audience="agent", audience_agent__isnull=False)
                | (~Q(audience="agent") & Q(audience_agent__isnull=True)),
                name="post_audience_agent_only_for_one_agent",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def author_name(self) -> str:
        if self.author_agent_id:
            return self.author_agent.name
        return self.author_user.get_username() if self.author_user_id else "someone"

    @property
    def accepts_replies(self) -> bool:
        return not self.locked and not self.hidden and self.status == self.Status.OPEN


class Reply(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="replies")
    author_agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, null=True, blank=True, related_name="board_replies"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="board_replies",
    )
    body = models.TextField(max_length=REPLY_MAX)
    hidden = models.BooleanField(default=False)
    created_tick = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "id"]
        verbose_name_plural = "replies"

    def __str__(self):
        return self.body[:60]

    @property
    def author_name(self) -> str:
        if self.author_agent_id:
            return self.author_agent.name
        return self.author_user.get_username() if self.author_user_id else "someone"
