"""Settings for the shared library's own tests: the saga engine's models and a tiny effects app."""

from saga_common.settings import *  # noqa: F403
from saga_common.settings import BASE_APPS, database

SERVICE_NAME = "saga-common-tests"
KAFKA_CONSUMER_GROUP = SERVICE_NAME
INSTALLED_APPS = [*BASE_APPS, "saga_common.sagas", "tests.effects"]
DATABASES = {"default": database("saga_common")}
ROOT_URLCONF = "tests.urls"
SAGA_MESSAGE_HANDLERS = "tests.effects.handlers.HANDLERS"
SAGA_CONTRACTS = "shop_contracts"  # the framework is tested with the shop's messages
