from django.apps import AppConfig


class SagasConfig(AppConfig):
    name = "saga_common.sagas"
    label = "sagas"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from saga_common.sagas import checks  # noqa: F401  (registers the saga versions' start-up check)
