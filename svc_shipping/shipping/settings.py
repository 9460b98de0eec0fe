"""Settings of the shipping service (shared defaults live in saga_common.settings)."""

from saga_common.settings import *  # noqa: F403
from saga_common.settings import BASE_APPS, KAFKA_TOPIC_PREFIX, SPECTACULAR_SETTINGS, database, env

SERVICE_NAME = "shipping"
# The topic prefix names the groups too: two systems sharing a cluster (or tests sharing a broker)
# must not join each other's groups, where Apache Kafka fences a static member whose id another holds.
KAFKA_CONSUMER_GROUP = env.str("KAFKA_CONSUMER_GROUP", default=f"{KAFKA_TOPIC_PREFIX}{SERVICE_NAME}")
INSTALLED_APPS = [*BASE_APPS, "shipping"]
ROOT_URLCONF = "shipping.urls"
WSGI_APPLICATION = "shipping.wsgi.application"
DATABASES = {"default": database("shipping")}
SAGA_MESSAGE_HANDLERS = "shipping.handlers.HANDLERS"
# A fetched batch is one unit of work: its rows read together, written together.
SAGA_BATCH_SCOPE = "shipping.unit_of_work.batch_scope"
SAGA_CONTRACTS = "shop_contracts"  # the messages of the system (saga_common loads them at start-up)
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "Shipping service"}
# Countries we deliver to (ISO 3166-1 alpha-2). AQ (Antarctica) is never served, whatever this says.
SHIPPING_COUNTRIES = env.list(
    "SHIPPING_COUNTRIES",
    default=["AT", "BE", "CH", "DE", "DK", "ES", "FR", "GB", "IE", "IT", "NL", "PL", "SE", "US"],
)
