"""The village project package: settings, ASGI app, Celery app, URLs and the tick orchestrator."""

from .celery import app as celery_app

__all__ = ("celery_app",)
