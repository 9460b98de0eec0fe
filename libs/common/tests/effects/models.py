from django.db import models


class Effect(models.Model):
    """Something a handler did, so tests can count how often it happened."""

    objects: "models.Manager[Effect]" = models.Manager()
    message_id = models.CharField(max_length=64)
    order_id = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.message_id
