"""The Celery app. Beat schedules `world.tasks.world_tick_due` every VILLAGE_BEAT_SECONDS; the
task ticks every running world whose next tick is due (the tick claim makes duplicates harmless)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "village.settings")

app = Celery("village")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_ticks(sender, **kwargs):
    from django.conf import settings

    interval = settings.VILLAGE_BEAT_SECONDS
    sender.add_periodic_task(
        interval,
        sender.signature("world.tasks.world_tick_due", queue="ticks"),
        name="tick running worlds",
        expires=interval * 1.5,
    )
