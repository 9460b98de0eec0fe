"""Pruning sagas: those that ended for good (COMPLETED, COMPENSATED) go once past their retention, with
their steps and history; running ones, FAILED ones (an operator's) and recent ones stay."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings

from saga_common.sagas.definition import SagaState
from saga_common.sagas.models import SagaEvent, SagaInstance, SagaStep, StepStatus
from saga_common.sagas.retention import prune_sagas

pytestmark = pytest.mark.django_db

OLD, RECENT = timedelta(days=31), timedelta(days=29)


def saga(order_id: str, state: SagaState, *, started: timedelta, changed: timedelta) -> SagaInstance:
    """A saga with two steps and three history events, started and last changed that long ago."""
    instance = SagaInstance.objects.create(
        id=uuid.uuid4(), saga_type="example", order_id=order_id, state=state, data={}, correlation_id="c"
    )
    for position in range(2):
        SagaStep.objects.create(
            saga=instance,
            position=position,
            name=f"step-{position}",
            kind="FORWARD",
            definition_index=position,
            status=StepStatus.SUCCEEDED,
            command_id=uuid.uuid4(),
            command_type="AuthorizePayment",
        )
    SagaEvent.objects.bulk_create([SagaEvent(saga=instance, event=f"event-{i}") for i in range(3)])
    now = timezone.now()
    # update(): updated_at is auto_now, which save() would set to now
    SagaInstance.objects.filter(id=instance.id).update(created_at=now - started, updated_at=now - changed)
    return instance


def test_prunes_finished_sagas_past_their_retention_with_their_steps_and_history(settings: Settings) -> None:
    settings.SAGA_RETENTION_DAYS = 30
    saga("old completed", SagaState.COMPLETED, started=OLD, changed=OLD)
    saga("old compensated", SagaState.COMPENSATED, started=OLD, changed=OLD)
    saga("recent completed", SagaState.COMPLETED, started=RECENT, changed=RECENT)
    # an operator's retry finished it lately: kept as long after that as any other
    saga("retried lately", SagaState.COMPLETED, started=OLD, changed=RECENT)
    for state in (SagaState.FAILED, SagaState.RUNNING, SagaState.COMPENSATING):
        saga(f"old {state.value.lower()}", state, started=timedelta(days=365), changed=timedelta(days=365))
    kept = {
        "recent completed",
        "retried lately",
        "old failed",
        "old running",
        "old compensating",
    }

    assert prune_sagas(batch_size=1) == 2  # batches of one: the loop must go on until done

    assert set(SagaInstance.objects.values_list("order_id", flat=True)) == kept
    assert set(SagaStep.objects.values_list("saga__order_id", flat=True)) == kept
    assert SagaStep.objects.count() == 2 * len(kept)
    assert set(SagaEvent.objects.values_list("saga__order_id", flat=True)) == kept
    assert SagaEvent.objects.count() == 3 * len(kept)


def test_each_batch_deletes_its_sagas_steps_and_history_in_one_statement(settings: Settings) -> None:
    """The foreign keys do not cascade in the database (Django's CASCADE is Django's): a saga deleted
    without its steps and history in the same statement is refused once constraints are checked."""
    settings.SAGA_RETENTION_DAYS = 30
    for i in range(5):
        saga(f"o-{i}", SagaState.COMPLETED, started=OLD, changed=OLD)
    with connection.cursor() as cursor:  # at each statement, not at a commit the test never makes
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert prune_sagas(batch_size=2) == 5
    assert (SagaInstance.objects.count(), SagaStep.objects.count(), SagaEvent.objects.count()) == (0, 0, 0)
