from economy.tests.fixtures import _fresh_throttle, agent_a, agent_b, clients, town  # noqa: F401
