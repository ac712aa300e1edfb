"""Shared fixtures: a world loaded from the default scenario, and people with roles."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
DEFAULT_SCENARIO = ROOT / "scenarios" / "default.yaml"


@pytest.fixture
def scenario_path() -> Path:
    return DEFAULT_SCENARIO


@pytest.fixture
def world(transactional_db):
    """Real commits, so after-commit hooks (reports, LLM jobs, broadcasts) run as in production."""
    from village.loading import world_create_from_scenario
    from world.scenario import load_scenario

    return world_create_from_scenario(spec=load_scenario(DEFAULT_SCENARIO), seed=1)


@pytest.fixture
def admin_user(db, django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")


@pytest.fixture
def human(db, django_user_model):
    return django_user_model.objects.create_user("hana", "hana@example.com", "pw")


@pytest.fixture
def outsider(db, django_user_model):
    return django_user_model.objects.create_user("otto", "otto@example.com", "pw")


@pytest.fixture(autouse=True)
def _fresh_engine_cache():
    from village import state_store

    state_store._CACHE.clear()
    yield
    state_store._CACHE.clear()
