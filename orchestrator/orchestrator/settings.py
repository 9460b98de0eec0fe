"""Settings of the saga orchestrator (shared defaults live in saga_common.settings)."""

from saga_common.settings import *  # noqa: F403
from saga_common.settings import (
    BASE_APPS,
    KAFKA_TOPIC_PREFIX,
    PRUNE_INTERVAL_SECONDS,
    SPECTACULAR_SETTINGS,
    WORKER_PERIODIC_TASKS,
    database,
    env,
)

SERVICE_NAME = "orchestrator"
# The topic prefix names the groups too: two systems sharing a cluster (or tests sharing a broker)
# must not join each other's groups, where Apache Kafka fences a static member whose id another holds.
KAFKA_CONSUMER_GROUP = env.str("KAFKA_CONSUMER_GROUP", default=f"{KAFKA_TOPIC_PREFIX}{SERVICE_NAME}")
INSTALLED_APPS = [*BASE_APPS, "saga_common.sagas", "orchestrator"]
ROOT_URLCONF = "orchestrator.urls"
WSGI_APPLICATION = "orchestrator.wsgi.application"
DATABASES = {"default": database("orchestrator")}
SAGA_MESSAGE_HANDLERS = "orchestrator.handlers.HANDLERS"
# A fetched batch runs as one engine call: its sagas loaded together, their writes made together.
SAGA_BATCH_SCOPE = "orchestrator.handlers.batch_scope"
# The saga engine, whose definitions the start-up check holds against the sagas in the database.
SAGA_ENGINE = "orchestrator.engine.engine"
SAGA_CONTRACTS = "shop_contracts"  # the messages of the system (saga_common loads them at start-up)
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "Saga orchestrator"}
# Send unanswered commands again, or give up on them, as their persisted deadlines pass; prune the sagas
# that ended (SAGA_RETENTION_DAYS).
WORKER_PERIODIC_TASKS = [
    *WORKER_PERIODIC_TASKS,
    ("orchestrator.services.saga_deadlines_sweep", env.float("SAGA_DEADLINE_SWEEP_SECONDS", default=0.5)),
    ("orchestrator.services.sagas_prune", PRUNE_INTERVAL_SECONDS),
]
