from django.apps import AppConfig


class SagaCommonConfig(AppConfig):
    """Makes the management commands run_worker and create_topics available."""

    name = "saga_common"
    default_auto_field = "django.db.models.BigAutoField"
