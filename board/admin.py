"""Board admin. Moderation (hide, lock, resolve, ...) runs as admin actions through the audited
service; the moderation fields are read-only on the form so nothing bypasses the audit."""

from __future__ import annotations

from django.contrib import admin

from board.models import Post, Reply
from board.services import MODERATION_ACTIONS, post_moderate, reply_set_hidden


def _moderation_action(name: str):
    def action(modeladmin, request, queryset):
        for post in queryset:
            post_moderate(actor=request.user, post=post, action=name, reason="admin")
        modeladmin.message_user(request, f"{name}: {queryset.count()} post(s).")

    action.__name__ = f"moderate_{name}"
    return admin.action(description=f"Moderate: {name}")(action)


class ReplyInline(admin.TabularInline):
    model = Reply
    extra = 0
    fields = ("author_agent", "author_user", "body", "hidden", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "world",
        "author_agent",
        "author_user",
        "audience",
        "status",
        "hidden",
        "locked",
        "created_at",
    )
    list_filter = ("world", "status", "audience", "hidden", "locked")
    search_fields = ("title", "body")
    readonly_fields = ("status", "hidden", "locked", "created_tick", "created_at", "updated_at")
    raw_id_fields = ("author_agent", "author_user", "audience_agent")
    inlines = [ReplyInline]
    actions = [_moderation_action(name) for name in MODERATION_ACTIONS]


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    list_display = ("id", "post", "author_agent", "author_user", "hidden", "created_at")
    list_filter = ("hidden",)
    search_fields = ("body",)
    readonly_fields = ("hidden", "created_tick", "created_at")
    raw_id_fields = ("post", "author_agent", "author_user")
    actions = ["hide", "unhide"]

    @admin.action(description="Hide selected replies")
    def hide(self, request, queryset):
        for reply in queryset:
            reply_set_hidden(actor=request.user, reply=reply, hidden=True)

    @admin.action(description="Show selected replies again")
    def unhide(self, request, queryset):
        for reply in queryset:
            reply_set_hidden(actor=request.user, reply=reply, hidden=False)
