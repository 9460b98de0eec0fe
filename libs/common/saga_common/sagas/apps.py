from django.apps import AppConfig


class SagasConfig(AppConfig):
    name = "saga_common.sagas"
    label = "sagas"
    default_auto_field = "django.db.models.BigAutoField"
