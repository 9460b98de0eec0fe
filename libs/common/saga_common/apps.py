from importlib import import_module

from django.apps import AppConfig
from django.conf import settings


class SagaCommonConfig(AppConfig):
    """Makes the management commands (run_worker, create_topics, ...) and the system checks available,
    and loads the system's message contracts (``SAGA_CONTRACTS``), so every process knows every type."""

    name = "saga_common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from saga_common import checks  # noqa: F401  (registers the system checks)
        from saga_common.monitoring import register_collector
        from saga_common.web import schema  # noqa: F401  (registers the bearer token's OpenAPI scheme)

        contracts: str = getattr(settings, "SAGA_CONTRACTS", "")
        if contracts:
            import_module(contracts)
        register_collector()
