"""Celery tasks on the `llm` queue: the worker keeps the model loaded between batches."""

from celery import shared_task

from generation.services import llm_jobs_run


@shared_task(name="generation.tasks.llm_run_jobs", acks_late=True, soft_time_limit=600, time_limit=660)
def llm_run_jobs(world_id: int, jobs: list[dict]) -> int:
    return len(llm_jobs_run(world_id=world_id, jobs=jobs))
