"""The audit log writer, used by every app that changes money, moderation, tiers, tokens or
safety switches. It imports nothing but the AuditLog model so any app can call it."""

from __future__ import annotations

from economy.models import AuditLog


def audit_record(
    *, action: str, actor=None, target_type: str, target_id, data: dict | None = None
) -> AuditLog:
    """`actor` is a user, an agent principal (has `acting_agent_id`) or None for the system."""
    return AuditLog.objects.create(
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        data=data or {},
        **actor_fields(actor),
    )


def actor_fields(actor) -> dict:
    if actor is None:
        return {"actor": "system"}
    agent_id = getattr(actor, "acting_agent_id", None)
    if agent_id is not None:
        return {"actor_agent_id": agent_id, "actor": str(actor)[:120]}
    return {"actor_user": actor, "actor": f"user:{actor.get_username()}"[:120]}
