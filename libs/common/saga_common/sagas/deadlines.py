"""A step's deadline passed: send its command again with backoff, or give up on the step.

Every command's deadline is stored with its step, so deadlines survive restarts of the orchestrator.
The orchestrator's worker sweeps them periodically: a step not answered in time is sent again as a new
attempt; after the policy's last attempt the saga gives up on it (``Saga.after_give_up``: before the
pivot it compensates, otherwise it waits in FAILED for an operator).
"""

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from saga_common.sagas.definition import ActionKind, RetryPolicy, Saga
from saga_common.sagas.models import WAITING_STATUSES, SagaStep, StepStatus
from saga_common.sagas.run import SagaRun
from saga_common.sagas.unit_of_work import engine_call, record

logger = logging.getLogger(__name__)


def expire_due_steps(
    definitions: Mapping[str, Saga[Any]],
    policy: RetryPolicy,
    *,
    limit: int = 100,
    now: datetime | None = None,
    replies_handled_until: Callable[[str], datetime | None] | None = None,
) -> int:
    """Ask again (or give up on) steps whose deadline passed by ``now``; return how many.

    ``replies_handled_until(order_id)`` says up to when the replies of that order's saga have been
    handled (``saga_common.messaging.progress.handled_until``; None: unknown). A deadline is only judged
    once it is behind that moment: a reply sitting unread in a backlog, or in a partition whose worker
    died, is not a missing reply, and resending because the orchestrator itself is behind would only
    feed the backlog (a retry storm). Without it, deadlines are judged against ``now``.

    Sagas locked by another worker are skipped (``SKIP LOCKED``) and picked up on a later pass, so
    several orchestrator workers can sweep at once.
    """
    now = now or timezone.now()
    candidates = (
        SagaStep.objects.filter(status__in=WAITING_STATUSES, deadline_at__lte=now)
        .order_by("deadline_at")
        .values_list("saga_id", "saga__order_id", "deadline_at")
    )
    due: dict[uuid.UUID, datetime] = {}
    # Read a few batches' worth: steps whose replies are not handled that far are passed over.
    for saga_id, order_id, deadline in candidates[: limit * 5]:
        judged_until = replies_handled_until(order_id) if replies_handled_until else now
        if judged_until is None or deadline is None or deadline > judged_until or saga_id in due:
            continue
        due[saga_id] = min(judged_until, now)
        if len(due) == limit:
            break
    handled = 0
    for saga_id, judged_until in due.items():
        try:
            handled += _expire_one(definitions, policy, saga_id, judged_until)
        except Exception:  # one saga that cannot move must not stop the sweep for every other
            logger.exception(
                "saga %s: its overdue step could not be handled; next sweep tries again", saga_id
            )
    return handled


def _expire_one(
    definitions: Mapping[str, Saga[Any]], policy: RetryPolicy, saga_id: uuid.UUID, judged_until: datetime
) -> int:
    """Retry or give up on the saga's overdue step (1), or find it answered or locked meanwhile (0)."""
    with engine_call(savepoint=True) as unit:
        instance = unit.lock(saga_id, skip_locked=True)
        if instance is None:
            return 0  # another worker has it
        run = SagaRun(definitions[instance.saga_type], instance, policy)
        step = next(
            (
                s
                for s in run.steps
                if s.status in WAITING_STATUSES
                and s.deadline_at is not None
                and s.deadline_at <= judged_until
            ),
            None,
        )
        if step is None:
            return 0  # answered meanwhile
        _step_overdue(run, step)
        run.save()
        return 1


def _step_overdue(run: SagaRun, step: SagaStep) -> None:
    """The step's deadline passed: send its command again, or give up on it."""
    kind = ActionKind(step.kind)
    if step.status == StepStatus.RETRY_WAIT or step.attempts < step.give_up_after:
        reason = "failed" if step.status == StepStatus.RETRY_WAIT else "no reply"
        run.send(kind, step.definition_index, None, again=step)
        record(run.instance, "StepRetried", None, f"{step.name} ({reason}), attempt {step.attempts}")
        return
    run.finish(step, StepStatus.TIMED_OUT, "")
    record(run.instance, "StepTimedOut", None, f"{step.name}: no reply to {step.attempts} attempts")
    run.take(run.saga.after_give_up(kind, step.definition_index), None)
