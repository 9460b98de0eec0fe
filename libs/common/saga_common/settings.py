"""Base Django settings shared by every service; each service's settings module builds on these.

Everything a deployment changes is read from the environment, with defaults that work on a
developer machine (PostgreSQL on 127.0.0.1:5432, the broker on 127.0.0.1:9092).
"""

from typing import Any

import environ

from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY
from saga_common.observability.logs import logging_config

env = environ.Env()

# The default keys are public (saga_common.dev_keys): outside debug mode the services refuse to start
# with them (system checks saga_common.E002 and E003).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False

BASE_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by the service itself (no CDN)
    "django_outbox_pattern",
    "django_prometheus",
    "saga_common",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "saga_common.web.middleware.CorrelationIdMiddleware",
    "saga_common.web.middleware.UnstorableTextMiddleware",
    "saga_common.web.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the API docs' static files
    "django.middleware.common.CommonMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "saga_common.web.unavailable.DatabaseUnavailableMiddleware",  # last: first to see a view's error
]

# Only the API docs page is a template (drf-spectacular's Swagger UI).
TEMPLATES: list[dict[str, Any]] = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {}}
]
STATIC_URL = "/static/"
# WhiteNoise serves the installed apps' files straight from where they are: no collectstatic step.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["saga_common.web.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["saga_common.web.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["saga_common.web.auth.IsCustomerOrOperator"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "saga_common.web.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "saga_common.web.pagination.Pagination",
    "PAGE_SIZE": 50,  # saga_common.web.pagination.DEFAULT_LIMIT; its MAX_LIMIT caps ?limit=
}

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_MAX_BODY_BYTES", default=256 * 1024)

# Bearer tokens (saga_common.web.auth). With JWT_JWKS_URL, only an identity provider's tokens count:
# signed with one of JWT_ALGORITHMS by a key its JWKS publishes, for JWT_AUDIENCE, from JWT_ISSUER.
# Without it (development, tests), HS256 tokens signed with JWT_SIGNING_KEY, shared by every service.
JWT_JWKS_URL = env.str("JWT_JWKS_URL", default="")
JWT_ISSUER = env.str("JWT_ISSUER", default="")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="")
JWT_ALGORITHMS = env.list("JWT_ALGORITHMS", default=["RS256", "ES256"])
SIMPLE_JWT = {
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=DEV_SIGNING_KEY),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "sub",
    "TOKEN_USER_CLASS": "saga_common.web.auth.Principal",
    "AUTH_TOKEN_CLASSES": ("saga_common.web.auth.BearerToken",),
    # Seconds of clock difference forgiven on exp/iat: a provider's clock is not ours.
    "LEEWAY": env.int("JWT_LEEWAY_SECONDS", default=0),
}


def database(default_name: str) -> dict[str, Any]:
    """Return the ``default`` database: ``DATABASE_URL`` or a local PostgreSQL database of that name."""
    config = env.db_url("DATABASE_URL", default=f"postgres://postgres@127.0.0.1:5432/{default_name}")
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("TEST", {})["NAME"] = env.str("DATABASE_TEST_NAME", default=f"test_{config['NAME']}")
    return config


KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS", default="127.0.0.1:9092")
KAFKA_TOPIC_PREFIX = env.str("KAFKA_TOPIC_PREFIX", default="")
# Who this process is on the broker. Apache Kafka as devstack, compose and the Kubernetes overlays run it
# wants SASL_PLAINTEXT with SCRAM-SHA-512 and the service's own user (docs/kafka.md, "Who may do what");
# PLAINTEXT suits a broker without authentication (Tansu).
KAFKA_SECURITY_PROTOCOL = env.str("KAFKA_SECURITY_PROTOCOL", default="PLAINTEXT")
KAFKA_SASL_MECHANISM = env.str("KAFKA_SASL_MECHANISM", default="SCRAM-SHA-512")
KAFKA_SASL_USERNAME = env.str("KAFKA_SASL_USERNAME", default="")
KAFKA_SASL_PASSWORD = env.str("KAFKA_SASL_PASSWORD", default="")
KAFKA_TOPIC_PARTITIONS = env.int("KAFKA_TOPIC_PARTITIONS", default=3)
# What create_topics asks for. A cluster wants 3 and 2: a write is then acknowledged (acks=all) once
# two replicas have it, so losing one broker loses no message. 1 and 1 suit a single local broker.
KAFKA_TOPIC_REPLICATION_FACTOR = env.int("KAFKA_TOPIC_REPLICATION_FACTOR", default=1)
KAFKA_TOPIC_MIN_INSYNC_REPLICAS = env.int("KAFKA_TOPIC_MIN_INSYNC_REPLICAS", default=1)
# The broker holds JoinGroup for about half the session timeout: keep it short locally.
KAFKA_SESSION_TIMEOUT_MS = env.int("KAFKA_SESSION_TIMEOUT_MS", default=6000)
# How often a consumer commits the offsets it stored (each stored only once its batch's transaction
# committed). A commit per batch was a broker round trip and a write to __consumer_offsets per message
# at low load; what a crash leaves uncommitted is redelivered and skipped by the inbox.
KAFKA_AUTO_COMMIT_INTERVAL_MS = env.int("KAFKA_AUTO_COMMIT_INTERVAL_MS", default=1000)
KAFKA_HEARTBEAT_INTERVAL_MS = env.int("KAFKA_HEARTBEAT_INTERVAL_MS", default=1000)
# Also the rebalance timeout: how long a group waits for members to rejoin. Tansu waits all of it
# for a member killed with kill -9 (the chaos suite found consumers stalled for librdkafka's default
# five minutes), so keep it short; a consumer busy longer than this merely rejoins.
KAFKA_MAX_POLL_INTERVAL_MS = env.int("KAFKA_MAX_POLL_INTERVAL_MS", default=20000)
# Static group membership (KIP-345): a worker restarted under the same id takes its partitions back at
# once instead of waiting for the group to give up on the killed one. Unique per replica (a pod name,
# say); empty means dynamic membership.
KAFKA_GROUP_INSTANCE_ID = env.str("KAFKA_GROUP_INSTANCE_ID", default="")
# How long the broker may hold a fetch when there is nothing to return. A record arriving meanwhile
# answers the fetch at once, so this is not a hop's latency, as long as nothing else is asked on the
# consumer's connection: the broker answers a connection's requests one at a time, and the consumer's
# checks of its partitions' ends once waited behind each held fetch (the hop latency once blamed on
# 500 here). Those checks have their own client now (kafka.offsets_probe_config), so the wait only
# sets how often an idle consumer asks: 50 times a second with 20 ms, twice with 500 (librdkafka's
# default). docs/benchmarks.md has the measurements.
KAFKA_FETCH_WAIT_MAX_MS = env.int("KAFKA_FETCH_WAIT_MAX_MS", default=500)
KAFKA_PRODUCER_LINGER_MS = env.int("KAFKA_PRODUCER_LINGER_MS", default=1)
KAFKA_DELIVERY_TIMEOUT_MS = env.int("KAFKA_DELIVERY_TIMEOUT_MS", default=30000)
KAFKA_TOPIC_RETENTION_HOURS = env.int("KAFKA_TOPIC_RETENTION_HOURS", default=7 * 24)

OUTBOX_RELAY_BATCH_SIZE = env.int("OUTBOX_RELAY_BATCH_SIZE", default=500)
# The relay is woken by NOTIFY when outbox rows commit; this poll only backs that up: a standby relay
# taking over from one that died mid-batch, a requeue by hand. While the listener connection is lost
# the relay polls every 0.5 s instead (messaging.commits). Each poll is a transaction, so a short one
# costs CPU idle (0.5 s before 2026-12-07). Behind a transaction-mode pooler, where LISTEN hears
# nothing, set it to the latency a hop may take.
OUTBOX_RELAY_POLL_INTERVAL = env.float("OUTBOX_RELAY_POLL_INTERVAL", default=2.0)
INBOX_BATCH_SIZE = env.int("INBOX_BATCH_SIZE", default=100)
INBOX_MAX_ATTEMPTS = env.int("INBOX_MAX_ATTEMPTS", default=5)
# A fenced static member (a fatal consumer error) rejoins with a new consumer this many times in ten
# minutes, then stops the worker. librdkafka fences a member with its own earlier join after its
# session timed out on a coordinator that died (librdkafka#3437; seen when a broker node is killed);
# a second process under the same KAFKA_GROUP_INSTANCE_ID would fence it for ever, and stops it.
INBOX_FENCED_REJOINS = env.int("INBOX_FENCED_REJOINS", default=3)
# How far back of what it saw a consumer counts a partition as handled (see saga_common.messaging.progress):
# covers messages produced before that moment that reach the partition later (clocks, delivery).
INBOX_PROGRESS_MARGIN_SECONDS = env.float("INBOX_PROGRESS_MARGIN_SECONDS", default=1.0)
# A record's timestamp up to this far ahead of the consumer's clock (producers' clocks a little fast)
# counts as the consumer's "now"; further ahead, or unreadable, it counts as no progress at all.
INBOX_PROGRESS_CLOCK_TOLERANCE_SECONDS = env.float("INBOX_PROGRESS_CLOCK_TOLERANCE_SECONDS", default=10.0)
# How often a consumer asks the broker where its partitions end, to record that it is caught up.
INBOX_PROGRESS_IDLE_INTERVAL_SECONDS = env.float("INBOX_PROGRESS_IDLE_INTERVAL_SECONDS", default=1.0)
# Must exceed the topics' retention (system check saga_common.E001): see saga_common.messaging.retention.
INBOX_RETENTION_DAYS = env.int("INBOX_RETENTION_DAYS", default=14)
OUTBOX_RETENTION_HOURS = env.int("OUTBOX_RETENTION_HOURS", default=24)
# Dead letters an operator replayed or discarded are kept this long after (acted_at) for reference;
# PENDING ones are never pruned (saga_common.messaging.retention).
DEAD_LETTER_RETENTION_DAYS = env.int("DEAD_LETTER_RETENTION_DAYS", default=30)
# How often the worker's housekeeping prunes each of the tables above and the services' own.
PRUNE_INTERVAL_SECONDS = env.float("PRUNE_INTERVAL_SECONDS", default=600.0)
# What a fetched batch's handlers run inside (saga_common.messaging.inbox.BatchScope), as a dotted path;
# the orchestrator's loads and writes the batch's sagas set-based. Empty: nothing.
SAGA_BATCH_SCOPE = ""
# The saga engine of a process that runs sagas (the orchestrator's), as a dotted path: its start-up check
# refuses to run without a definition version some saga in the database still runs. Empty: none.
SAGA_ENGINE = ""

# Saga steps (orchestrator): wait this long for a reply, doubling per attempt up to the maximum;
# after the last attempt the saga gives up on the step (see saga_common.sagas.definition.RetryPolicy).
SAGA_STEP_TIMEOUT_SECONDS = env.float("SAGA_STEP_TIMEOUT_SECONDS", default=10.0)
SAGA_STEP_MAX_ATTEMPTS = env.int("SAGA_STEP_MAX_ATTEMPTS", default=5)
SAGA_STEP_MAX_WAIT_SECONDS = env.float("SAGA_STEP_MAX_WAIT_SECONDS", default=120.0)
# Sagas that ended for good (COMPLETED, COMPENSATED) are pruned with their steps and history this long
# after they last changed; running ones and FAILED ones (waiting for an operator) never are. Must exceed
# the topics' retention (system check saga_common.E005): a late reply must find its saga.
SAGA_RETENTION_DAYS = env.int("SAGA_RETENTION_DAYS", default=30)
# The definition version new sagas start on, e.g. "place_order=1"; a saga not named starts on its newest.
# Sagas in flight keep theirs (saga_common.sagas.registry; docs/operations.md, "Saga versions").
SAGA_START_VERSIONS = env.str("SAGA_START_VERSIONS", default="")

# How often the worker records its consumer lag for the operators' messaging health (the web reads the
# record, never the broker: saga_common.operations.health).
MESSAGING_SNAPSHOT_SECONDS = env.float("MESSAGING_SNAPSHOT_SECONDS", default=5.0)

# A file the worker touches while all of its loops run (a liveness probe checks its age); empty: none.
WORKER_HEARTBEAT_FILE = env.str("WORKER_HEARTBEAT_FILE", default="")
# django-prometheus would query the database for unapplied migrations whenever any command starts.
PROMETHEUS_EXPORT_MIGRATIONS = False
# Its HTTP metrics are named like ours: sagaref_django_http_... (saga_common.observability.metrics).
PROMETHEUS_METRIC_NAMESPACE = "sagaref"
# The process's Prometheus endpoint, apart from the public API: the worker's, and the web's when
# gunicorn runs with saga_common.web.gunicorn_conf (one worker process). 0: none.
METRICS_PORT = env.int("METRICS_PORT", default=0)
# What serves it in a web process (gunicorn_conf calls it with the port); the console names its own.
METRICS_SERVER = "saga_common.monitoring.serve_metrics"
# Development only (Tilt): restart the worker when its code changes.
WORKER_AUTORELOAD = env.bool("WORKER_AUTORELOAD", default=False)

# Periodic jobs of the worker's housekeeping thread: (dotted path of a no-argument callable, seconds).
WORKER_PERIODIC_TASKS: list[tuple[str, float]] = [
    ("saga_common.messaging.retention.prune_messages", PRUNE_INTERVAL_SECONDS),
    ("saga_common.messaging.retention.prune_dead_letters", PRUNE_INTERVAL_SECONDS),
]

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # or "plain"; see saga_common.observability.logs
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)

SPECTACULAR_SETTINGS = {
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # "Authorize" in the docs takes a bearer token (manage.py issue_token mints one locally).
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "deepLinking": True},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "saga_common.web.schema.document_error_responses",
    ],
}
