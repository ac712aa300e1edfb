"""Memory retrieval: score = recency + importance + relevance, each min-max normalized over the
candidates; recency decays with game time since last access (0.995 per game hour)."""

from __future__ import annotations

import numpy as np
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from agents.models import Memory

RECENCY_DECAY_PER_HOUR = 0.995
CANDIDATES = 300
EMBEDDING_DIM = 384


def vector_of(memory: Memory) -> np.ndarray | None:
    if not memory.embedding:
        return None
    return np.frombuffer(bytes(memory.embedding), dtype=np.float32)


def _normalize(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min() if len(values) else 0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def retrieval_scores(memories: list[Memory], query: np.ndarray, now_minute: int) -> np.ndarray:
    hours = np.array([max(0, now_minute - m.last_access_minute) / 60 for m in memories], np.float64)
    recency = RECENCY_DECAY_PER_HOUR**hours
    importance = np.array([m.importance for m in memories], np.float64)
    relevance = np.array([
        float(np.dot(v, query)) if (v := vector_of(m)) is not None and len(v) == len(query) else 0.0
        for m in memories
    ])
    return _normalize(recency) + _normalize(importance) + _normalize(relevance)


def memories_candidates_many(agent_ids: list[int]) -> dict[int, list[Memory]]:
    """Each agent's CANDIDATES most recent memories, newest first, in one query."""
    recent = Window(RowNumber(), partition_by=F("agent_id"), order_by=[F("tick").desc(), F("id").desc()])
    rows = (
        Memory.objects.filter(agent_id__in=agent_ids)
        .annotate(recent_rank=recent)
        .filter(recent_rank__lte=CANDIDATES)
        .order_by("agent_id", "-tick", "-id")
    )
    found: dict[int, list[Memory]] = {}
    for memory in rows:
        found.setdefault(memory.agent_id, []).append(memory)
    return found


def memories_rank(memories: list[Memory], query: np.ndarray, now_minute: int, k: int) -> list[Memory]:
    if not memories:
        return []
    scores = retrieval_scores(memories, query, now_minute)
    order = sorted(range(len(memories)), key=lambda i: (-scores[i], -memories[i].id))
    return [memories[i] for i in order[:k]]


def memories_touch(memories: list[Memory], now_minute: int) -> None:
    """Retrieval counts as access: recency restarts from now."""
    Memory.objects.filter(id__in=[m.id for m in memories]).update(last_access_minute=now_minute)
