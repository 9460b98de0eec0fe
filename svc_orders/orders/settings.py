"""Settings of the orders service (shared defaults live in saga_common.settings)."""

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

SERVICE_NAME = "orders"
# The topic prefix names the groups too: two systems sharing a cluster (or tests sharing a broker)
# must not join each other's groups, where Apache Kafka fences a static member whose id another holds.
KAFKA_CONSUMER_GROUP = env.str("KAFKA_CONSUMER_GROUP", default=f"{KAFKA_TOPIC_PREFIX}{SERVICE_NAME}")
INSTALLED_APPS = [*BASE_APPS, "orders"]
ROOT_URLCONF = "orders.urls"
WSGI_APPLICATION = "orders.wsgi.application"
DATABASES = {"default": database("orders")}
SAGA_MESSAGE_HANDLERS = "orders.handlers.HANDLERS"
# A fetched batch is one unit of work: its rows read together, written together.
SAGA_BATCH_SCOPE = "orders.unit_of_work.batch_scope"
SAGA_CONTRACTS = "shop_contracts"  # the messages of the system (saga_common loads them at start-up)
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "Orders service"}
# How long a repeat with the same Idempotency-Key gets the first order back (after it: a new order; see
# docs/contract.md). A week: a client retrying the next day, or after a weekend offline, is still safe;
# a key's row is small (the first answer), so a week of them costs little.
IDEMPOTENCY_KEY_RETENTION_HOURS = env.int("IDEMPOTENCY_KEY_RETENTION_HOURS", default=7 * 24)
WORKER_PERIODIC_TASKS = [
    *WORKER_PERIODIC_TASKS,
    ("orders.services.idempotency_keys_prune", PRUNE_INTERVAL_SECONDS),
]
