"""The shared library's own table: how far each consumer group has handled each partition."""

from django.db import models


class ConsumerProgress(models.Model):
    """Up to when everything on one partition has been handled by one consumer group.

    Written by the inbox consumer after each batch it handled (``saga_common.messaging.progress``), read by
    the orchestrator's deadline sweep: a step is only given up once the partition that carries its
    saga's replies has been handled past the step's deadline, whichever worker owns that partition.
    """

    group = models.CharField(max_length=255)
    topic = models.CharField(max_length=255)
    partition = models.PositiveIntegerField()
    partitions = models.PositiveIntegerField()  # how many the topic had when this was written
    handled_up_to = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "saga_consumer_progress"
        constraints = [
            models.UniqueConstraint(fields=["group", "topic", "partition"], name="one_progress_per_partition")
        ]

    def __str__(self) -> str:
        return f"{self.group} {self.topic}[{self.partition}] up to {self.handled_up_to}"
