"""Saga state and step history, persisted in the orchestrator's database."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from saga_common.sagas.definition import ActionKind, SagaState

# Sagas nothing happens to any more: pruned after SAGA_RETENTION_DAYS (saga_common.sagas.retention).
FINISHED_STATES = (SagaState.COMPLETED, SagaState.COMPENSATED)
# The others: running, or FAILED and waiting for an operator. Never pruned, and few, so the metrics
# count them live from a small index of their own (saga_common.monitoring).
UNFINISHED_STATES = (SagaState.RUNNING, SagaState.COMPENSATING, SagaState.FAILED)


class SagaInstance(models.Model):
    """One run of a saga for one order; its row lock serializes everything that happens to it."""

    id = models.UUIDField(primary_key=True)
    saga_type = models.CharField(max_length=64)
    # The version of its definition the saga runs, to its end, whatever version new sagas start on.
    version = models.PositiveSmallIntegerField(default=1)
    order_id = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=16, choices=[(s.value, s.value) for s in SagaState], db_index=True)
    current_step = models.CharField(max_length=64, blank=True)
    data = models.JSONField()
    correlation_id = models.CharField(max_length=64)
    # The order's trace (its OrderCreated's trace context), which the console links to; "" if none came.
    trace_id = models.CharField(max_length=32, blank=True, default="")
    # The W3C traceparent of the span that sent the saga's last command: what the deadline sweeper's
    # commands are children of, so they join the order's trace (saga_common.sagas.spans).
    trace_parent = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "saga_instance"
        constraints = [models.UniqueConstraint(fields=["saga_type", "order_id"], name="one_saga_per_order")]
        indexes = [
            # The unfinished sagas by state and type, newest first: the metrics' live counts and oldest
            # running saga, and the console's lists and counts of them, without reading the finished
            # ones (most of the table). created_at never changes, so updates within a state stay HOT.
            models.Index(
                fields=["state", "saga_type", "-created_at"],
                name="saga_instance_unfinished",
                condition=models.Q(state__in=[state.value for state in UNFINISHED_STATES]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.saga_type} {self.id} ({self.state})"


class StepStatus(models.TextChoices):
    STARTED = "STARTED"  # sent; waiting for a reply until deadline_at
    RETRY_WAIT = "RETRY_WAIT"  # answered with a failure that is asked again at deadline_at
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"  # never answered within its attempts; the saga gave up on it
    # The saga stopped waiting for it: a branch beside it failed, or an operator compensated the saga.
    # Like a step given up on, it may have taken effect: it is compensated, and so is a late success.
    ABANDONED = "ABANDONED"


# Steps the deadline sweeper looks after.
WAITING_STATUSES = (StepStatus.STARTED, StepStatus.RETRY_WAIT)


class SagaStep(models.Model):
    """One action the saga took (a forward step, a compensation or the final command)."""

    saga = models.ForeignKey(SagaInstance, related_name="steps", on_delete=models.CASCADE)
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in ActionKind])
    definition_index = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    attempts = models.PositiveIntegerField(default=1)
    command_id = models.UUIDField(unique=True)  # the latest attempt's
    # Every attempt's command id, oldest first: a reply to any of them answers this step.
    command_ids = ArrayField(models.UUIDField(), default=list)
    command_type = models.CharField(max_length=64)
    reply_type = models.CharField(max_length=64, blank=True)
    # The engine gives up on the step once attempt number ``give_up_after`` went unanswered; an
    # operator retry moves it, so an operator's attempt gets a whole new round of retries.
    give_up_after = models.PositiveIntegerField(default=1)
    # When to send the command again (or give up); persisted so deadlines survive restarts.
    deadline_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "saga_step"
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["saga", "position"], name="one_step_per_position")]
        indexes = [
            models.Index(
                fields=["deadline_at"],
                name="saga_step_waiting_deadline",
                condition=models.Q(status__in=["STARTED", "RETRY_WAIT"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class SagaEvent(models.Model):
    """The saga's history: what it sent, what it received, what it ignored and why."""

    saga = models.ForeignKey(SagaInstance, related_name="history", on_delete=models.CASCADE)
    at = models.DateTimeField(default=timezone.now)
    event = models.CharField(max_length=32)
    message_type = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "saga_event"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event} {self.message_type}"
