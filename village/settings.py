"""Env-driven settings. With no environment at all the village runs on SQLite, the in-memory
channel layer and eager Celery (the embedded default); DATABASE_URL and REDIS_URL switch to the
production stack."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="village-insecure-dev-key-change-me")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "world",
    "agents",
    "board",
    "economy",
    "generation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "village.urls"
ASGI_APPLICATION = "village.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'village.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL lets the web server read while the tick timer writes in the embedded default.
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

REDIS_URL = env("REDIS_URL", default="")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, which kills the layer's
            # blocking 5 s BZPOPMIN and every consumer waiting on it (channels_redis#422).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "capacity": 1500, "expiry": 10},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: JSON only, acks late, one message at a time; eager when there is no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TASK_ROUTES = {
    "world.tasks.*": {"queue": "ticks"},
    "generation.tasks.*": {"queue": "llm"},
}
CELERY_TASK_DEFAULT_QUEUE = "ticks"
# Seconds between beat's scan for running worlds; each world's own speed is honoured by the
# tick service (a world whose next tick is not due yet is skipped).
VILLAGE_BEAT_SECONDS = env.float("VILLAGE_BEAT_SECONDS", default=1.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "economy.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["economy.api.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"principal": env("API_RATE", default="600/min")},
}
SPECTACULAR_SETTINGS = {"TITLE": "village API", "VERSION": "1.0.0"}

# The village itself.
VILLAGE_SCENARIO = env("VILLAGE_SCENARIO", default=str(BASE_DIR / "scenarios" / "default.yaml"))
VILLAGE_REPORTS_DIR = Path(env("VILLAGE_REPORTS_DIR", default=str(BASE_DIR / "reports")))
VILLAGE_LLM_BACKEND = env("VILLAGE_LLM_BACKEND", default="local")
VILLAGE_LLM_MODEL_PATH = env("VILLAGE_LLM_MODEL_PATH", default="")
VILLAGE_LLM_BASE_URL = env("VILLAGE_LLM_BASE_URL", default="http://127.0.0.1:8080/v1")
VILLAGE_LLM_MODEL = env("VILLAGE_LLM_MODEL", default="smollm2")
VILLAGE_LLM_API_KEY = env("VILLAGE_LLM_API_KEY", default="")
VILLAGE_EMBEDDER = env("VILLAGE_EMBEDDER", default="minilm")
VILLAGE_LLM_DISPATCH = env("VILLAGE_LLM_DISPATCH", default="auto")
VILLAGE_BANNED_WORDS = env.list("VILLAGE_BANNED_WORDS", default=[])
VILLAGE_TICK_SECONDS = env.float("VILLAGE_TICK_SECONDS", default=2.0)
# Scale (village/state_store.py, village/tick.py): agent rows a tick rewrites in big worlds (the
# packed live state is written whole every tick), whether a tick's commit waits for the WAL, and
# whether the next tick's engine step runs ahead while a tick's rows go in.
VILLAGE_AGENT_ROWS_PER_TICK = env.int("VILLAGE_AGENT_ROWS_PER_TICK", default=250)
VILLAGE_TICK_SYNCHRONOUS_COMMIT = env.bool("VILLAGE_TICK_SYNCHRONOUS_COMMIT", default=False)
VILLAGE_TICK_AHEAD = env.bool("VILLAGE_TICK_AHEAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": {"village": {"level": env("VILLAGE_LOG_LEVEL", default="INFO")}},
}
