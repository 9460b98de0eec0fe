"""The orchestrator's worker prunes, besides the outbox, the inbox and the dead letters, the sagas that
ended for good past SAGA_RETENTION_DAYS (saga_common.sagas.retention)."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from saga_common.sagas.definition import SagaState
from saga_common.sagas.models import SagaInstance

pytestmark = pytest.mark.django_db


def a_saga(state: SagaState, age: timedelta) -> uuid.UUID:
    saga_id = uuid.uuid4()
    SagaInstance.objects.create(
        id=saga_id, saga_type="place_order", order_id=saga_id.hex, state=state, data={}, correlation_id="c"
    )
    then = timezone.now() - age
    SagaInstance.objects.filter(id=saga_id).update(created_at=then, updated_at=then)
    return saga_id


def test_the_worker_prunes_sagas_that_ended_past_their_retention() -> None:
    tasks = [path for path, _interval in settings.WORKER_PERIODIC_TASKS]
    assert {
        "orchestrator.services.sagas_prune",
        "saga_common.messaging.retention.prune_messages",
        "saga_common.messaging.retention.prune_dead_letters",
    } <= set(tasks)
    expired = timedelta(days=settings.SAGA_RETENTION_DAYS + 1)
    a_saga(SagaState.COMPLETED, expired)
    a_saga(SagaState.COMPENSATED, expired)
    kept = {a_saga(SagaState.FAILED, expired), a_saga(SagaState.COMPLETED, timedelta(days=1))}
    for path in tasks:  # one round of the worker's housekeeping
        import_string(path)()
    assert set(SagaInstance.objects.values_list("id", flat=True)) == kept
