from django.apps import AppConfig


class SagaCommonConfig(AppConfig):
    """Makes the management commands (run_worker, create_topics, ...) and the system checks available."""

    name = "saga_common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from saga_common import checks, schema  # noqa: F401  (registers the checks and the auth scheme)
        from saga_common.metrics import register_collector

        register_collector()
