"""Property-based fuzzing of the whole API from its OpenAPI schema (schemathesis, bounded so it
runs in CI): whatever the input, no endpoint answers with a server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from economy.api.throttling import PrincipalRateThrottle
from economy.services import personal_token_issue
from economy.tests.factories import post_by_agent

MAX_EXAMPLES = 10


@pytest.fixture
def api_schema(town, agent_a, admin_user, monkeypatch):
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "1000000/min"})
    # Like Django's test client: keep the test's connection (and its transaction) across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    post_by_agent(agent_a)
    yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(admin_user) -> str:
    return personal_token_issue(actor=admin_user, name="fuzz")[1]


def _fuzz(operation, token: str, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])

    check()


# schemathesis' own pytest plugin (`from_fixture`/`parametrize`) does not run under pytest 9, so
# the operations are walked here, each with a bounded Hypothesis run of valid and invalid input.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_never_answers_with_a_server_error(api_schema, admin_token, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        _fuzz(operation, admin_token, mode)
