"""The shared library's own tables: how far each consumer group has handled each partition, the
messages the consumer gave up on (dead letters), and the worker's last look at its consumer lag."""

import uuid

from django.db import models
from django.utils import timezone


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


class DeadLetterStatus(models.TextChoices):
    PENDING = "PENDING"  # waiting for an operator
    REPLAYED = "REPLAYED"  # put back on its topic through the outbox, once
    DISCARDED = "DISCARDED"  # an operator decided it is not to be handled


class DeadLetter(models.Model):
    """A message the inbox consumer gave up on, kept byte for byte so an operator can replay it.

    Written by the consumer when it dead-letters (``saga_common.messaging.dead_letters``), next to the
    copy it sends to ``<topic>.dlq``; replayed or discarded by an operator (``saga_common.operations``).
    One row per message, keyed by ``identity``: its message id and bytes where it has an id, else the
    record itself (position, timestamp and bytes). The position is information, not the key: offsets
    begin again when a topic is recreated or a memory broker restarts, and a new poison message at an
    old offset must not vanish behind an old letter. A redelivery of the same record (a crash between this row
    and the consumer's offset commit) finds its row unchanged; the same message failing again
    elsewhere (a replay that failed again, a producer that sent it twice) brings its row back to
    PENDING with the newest record and counts it in ``occurrences``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    topic = models.CharField(max_length=255)  # where it came from (and goes back to): not the .dlq
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    # The record's Kafka timestamp (ms): with the position, what tells a redelivery from a new record.
    timestamp_ms = models.BigIntegerField(null=True)
    # "id:<sha-256 of the message id and the record's bytes>", or for a record without an id
    # "record:<sha-256 of its position, timestamp and bytes>" (saga_common.messaging.dead_letters)
    identity = models.CharField(max_length=120)
    occurrences = models.PositiveIntegerField(default=1)
    # NULL, not "": the record carried no id or type that could be read, and the API says null.
    message_id = models.CharField(max_length=100, null=True)  # noqa: DJ001 (ce_id)
    message_type = models.CharField(max_length=255, null=True)  # noqa: DJ001
    # The record as it came: bytes, and headers in saga_common.messaging.records' JSON form.
    key = models.BinaryField(null=True)
    headers = models.JSONField(default=list)
    payload = models.BinaryField(null=True)
    error = models.TextField()
    attempts = models.PositiveIntegerField()
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=16, choices=DeadLetterStatus.choices, default=DeadLetterStatus.PENDING
    )
    # The operator's token subject; NULL until one acts (as acted_at).
    acted_by = models.CharField(max_length=64, null=True)  # noqa: DJ001
    acted_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "saga_dead_letter"
        constraints = [
            models.UniqueConstraint(fields=["topic", "identity"], name="one_dead_letter_per_message")
        ]
        # the operator's list (by status, newest first) and the pending counts
        indexes = [models.Index(fields=["status", "-received_at"], name="saga_dead_letter_status")]

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset} {self.status}"


class MessagingSnapshot(models.Model):
    """What the worker last measured at the broker for its consumer group: the lag per topic.

    The worker writes it every ``MESSAGING_SNAPSHOT_SECONDS`` (``saga_common.operations.health``), so the
    web answers an operator from its own database, never waiting on the broker; ``observed_at`` says
    how fresh it is (a worker that cannot reach the broker leaves it growing old).
    """

    group = models.CharField(max_length=255, unique=True)
    consumer_lag = models.JSONField(default=dict)  # {topic: messages not yet committed}
    observed_at = models.DateTimeField()

    class Meta:
        db_table = "saga_messaging_snapshot"

    def __str__(self) -> str:
        return f"{self.group} at {self.observed_at}"
