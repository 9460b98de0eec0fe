"""Settings of the payments service (shared defaults live in saga_common.settings)."""

from saga_common.settings import *  # noqa: F403
from saga_common.settings import BASE_APPS, KAFKA_TOPIC_PREFIX, SPECTACULAR_SETTINGS, database, env

SERVICE_NAME = "payments"
# The topic prefix names the groups too: two systems sharing a cluster (or tests sharing a broker)
# must not join each other's groups, where Apache Kafka fences a static member whose id another holds.
KAFKA_CONSUMER_GROUP = env.str("KAFKA_CONSUMER_GROUP", default=f"{KAFKA_TOPIC_PREFIX}{SERVICE_NAME}")
INSTALLED_APPS = [*BASE_APPS, "payments"]
ROOT_URLCONF = "payments.urls"
WSGI_APPLICATION = "payments.wsgi.application"
DATABASES = {"default": database("payments")}
SAGA_MESSAGE_HANDLERS = "payments.handlers.HANDLERS"
# A fetched batch is one unit of work: its payments and accounts read together, written together.
SAGA_BATCH_SCOPE = "payments.unit_of_work.batch_scope"
SAGA_CONTRACTS = "shop_contracts"  # the messages of the system (saga_common loads them at start-up)
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "Payments service"}
