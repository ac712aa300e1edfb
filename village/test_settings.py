"""Test settings: the same settings, with fast hashing, the scripted LLM and the hashing
embedder so unit tests never load a model unless a test asks for one."""

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
VILLAGE_LLM_BACKEND = "scripted"
VILLAGE_EMBEDDER = env("VILLAGE_EMBEDDER", default="hashing")  # noqa: F405
VILLAGE_REPORTS_DIR = BASE_DIR / "var" / "test-reports"  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = True
VILLAGE_LLM_DISPATCH = "inline"
