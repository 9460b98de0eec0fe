"""Settings that install every app at once, only so mypy's Django plugin can see all models.

Never used to run anything: each service runs with its own settings and its own database.
"""

from saga_common.settings import *  # noqa: F403
from saga_common.settings import BASE_APPS

SERVICE_NAME = "typecheck"
KAFKA_CONSUMER_GROUP = "typecheck"
INSTALLED_APPS = [*BASE_APPS, "saga_common.sagas", "orders", "payments", "shipping", "orchestrator"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "typecheck"}}
SHIPPING_COUNTRIES = ["DE"]
SAGA_MESSAGE_HANDLERS = ""
SAGA_CONTRACTS = "shop_contracts"
IDEMPOTENCY_KEY_RETENTION_HOURS = 24
