from django.apps import AppConfig


class EconomyConfig(AppConfig):
    name = "economy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created

        from agents.api.extensions import agent_detail_providers
        from economy.api import schema  # noqa: F401  (registers the bearer scheme)
        from economy.db import sqlite_ledger_guard_install
        from economy.selectors import agent_economy_summary

        connection_created.connect(sqlite_ledger_guard_install, dispatch_uid="economy.sqlite_ledger_guard")
        if agent_economy_summary not in agent_detail_providers:
            agent_detail_providers.append(agent_economy_summary)
