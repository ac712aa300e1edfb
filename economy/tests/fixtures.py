"""Shared board/economy fixtures: a loaded world, two agents with tokens, and an API client per
role (anonymous, the agent, another agent, a human, an admin)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from agents.models import Agent
from economy.services import agent_token_issue


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()  # the rate-limit counters live in the default cache
    yield
    cache.clear()


@pytest.fixture
def town(db, scenario_path):
    from village.loading import world_create_from_scenario
    from world.scenario import load_scenario

    return world_create_from_scenario(spec=load_scenario(scenario_path), seed=1)


@pytest.fixture
def agent_a(town) -> Agent:
    return Agent.objects.filter(world=town).order_by("id")[0]


@pytest.fixture
def agent_b(town) -> Agent:
    return Agent.objects.filter(world=town).order_by("id")[1]


def token_for(agent: Agent, admin) -> str:
    return agent_token_issue(actor=admin, agent=agent)[1]


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def clients(agent_a, agent_b, human, admin_user) -> dict[str, APIClient]:
    human_client, admin_client = APIClient(), APIClient()
    human_client.force_authenticate(human)
    admin_client.force_authenticate(admin_user)
    return {
        "anonymous": APIClient(),
        "agent": bearer(token_for(agent_a, admin_user)),
        "other_agent": bearer(token_for(agent_b, admin_user)),
        "human": human_client,
        "admin": admin_client,
    }
