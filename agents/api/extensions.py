"""Apps above `agents` add fields to `GET /api/agents/{id}` without `agents` importing them
(imports point one way): each provider takes the agent and returns a dict that is merged in.
The economy app registers its balance-and-tier summary here in its AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable

agent_detail_providers: list[Callable] = []


def agent_detail_extras(agent) -> dict:
    extras: dict = {}
    for provider in agent_detail_providers:
        extras.update(provider(agent))
    return extras
