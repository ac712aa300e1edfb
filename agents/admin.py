from django.contrib import admin

from .models import Agent, AgentLocationVisit, AgentSchedule, Conversation, Memory, Relationship


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "world",
        "job",
        "home",
        "workplace",
        "energy",
        "hunger",
        "social",
        "fun",
        "is_active",
        "quarantined",
    )
    list_filter = ("world", "is_active", "quarantined")
    search_fields = ("name", "bio")


@admin.register(AgentSchedule)
class AgentScheduleAdmin(admin.ModelAdmin):
    list_display = ("agent", "day", "slot_hour", "activity", "location", "source")
    list_filter = ("day", "source")


@admin.register(AgentLocationVisit)
class AgentLocationVisitAdmin(admin.ModelAdmin):
    list_display = ("agent", "location", "day", "since_tick", "until_tick")


@admin.register(Relationship)
class RelationshipAdmin(admin.ModelAdmin):
    list_display = ("source", "target", "score", "kind", "interactions", "updated_tick")


@admin.register(Memory)
class MemoryAdmin(admin.ModelAdmin):
    list_display = ("agent", "kind", "importance", "tick", "text")
    list_filter = ("kind",)
    search_fields = ("text",)
    exclude = ("embedding",)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("chat_id", "world", "kind", "tick", "location", "topic")
