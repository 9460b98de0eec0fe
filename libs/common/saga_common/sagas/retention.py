"""Prune the sagas that ended for good, with their steps and history, so the tables do not grow forever.

A saga COMPLETED or COMPENSATED is deleted once both its start and its last change are over
``SAGA_RETENTION_DAYS`` ago; a saga still running, or FAILED and waiting for an operator, never is.
The retention must exceed the topics' (system check ``saga_common.E005``): a reply that comes late, up
to as late as the topics keep its command, must still find its saga (which undoes a step that took
effect after the saga gave up on it).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from saga_common.messaging.retention import delete_in_batches
from saga_common.sagas.models import FINISHED_STATES, SagaEvent, SagaInstance, SagaStep

logger = logging.getLogger(__name__)

# The range is on created_at, which is indexed and never changes: an index on updated_at would be
# rewritten by every write to a saga (no HOT updates). A saga ends minutes after it starts, unless it
# waited for an operator: updated_at (read from the rows in the range) keeps that one its whole
# retention after it ended.
_EXPIRED = "created_at < %s AND updated_at < %s AND state IN %s"


def prune_sagas(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Delete the finished sagas past their retention, each batch with the steps and history of its
    sagas in one statement (a saga has a step per command and an event per message: small batches)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SAGA_RETENTION_DAYS)
    deleted = delete_in_batches(
        SagaInstance._meta.db_table,
        _EXPIRED,
        [cutoff, cutoff, tuple(state.value for state in FINISHED_STATES)],
        batch_size,
        children=[
            (model._meta.db_table, model._meta.get_field("saga").column) for model in (SagaStep, SagaEvent)
        ],
    )
    if deleted:
        logger.info("pruned %d sagas that ended before %s", deleted, cutoff.isoformat())
    return deleted
