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
# The console's own settings (console.settings; it has no models, so not among the apps).
CONSOLE_API_URLS: dict[str, str] = {}
CONSOLE_API_TIMEOUT_SECONDS = 3.0
CONSOLE_REFRESH_SECONDS = 2
CONSOLE_DEV_SIGN_IN = False
CONSOLE_TOKEN_HEADER = "X-Forwarded-Access-Token"
JWT_SIGNING_KEY = ""
TRACE_URL_TEMPLATE = ""
TRACE_QUERY_URL = ""
