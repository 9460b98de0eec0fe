"""A step's deadline passed: send its command again with backoff, or give up on the step.

Every command's deadline is stored with its step, so deadlines survive restarts of the orchestrator.
The orchestrator's worker sweeps them periodically: a step not answered in time is sent again as a new
attempt; after the policy's last attempt the saga gives up on it (``Saga.after_give_up``: before the
pivot it compensates, otherwise it waits in FAILED for an operator).
"""

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from saga_common.sagas.definition import ActionKind, RetryPolicy
from saga_common.sagas.models import WAITING_STATUSES, SagaStep, StepStatus
from saga_common.sagas.registry import SagaRegistry
from saga_common.sagas.run import SagaRun
from saga_common.sagas.unit_of_work import engine_call, record

logger = logging.getLogger(__name__)


def expire_due_steps(
    registry: SagaRegistry,
    policy: RetryPolicy,
    *,
    limit: int = 100,
    now: datetime | None = None,
    replies_handled_until: Callable[[str], datetime | None] | None = None,
    page: int = 500,
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
    due: dict[uuid.UUID, datetime] = {}
    for saga_id, order_id, deadline in _overdue(now, page):
        judged_until = replies_handled_until(order_id) if replies_handled_until else now
        if judged_until is None or deadline is None or deadline > judged_until or saga_id in due:
            continue  # its replies are not handled that far: its partition lags, or its worker died
        due[saga_id] = min(judged_until, now)
        if len(due) == limit:
            break
    handled = 0
    for saga_id, judged_until in due.items():
        try:
            handled += _expire_one(registry, policy, saga_id, judged_until)
        except Exception:  # one saga that cannot move must not stop the sweep for every other
            logger.exception(
                "saga %s: its overdue step could not be handled; next sweep tries again", saga_id
            )
    return handled


def _overdue(now: datetime, page: int = 500) -> Iterator[tuple[uuid.UUID, str, datetime]]:
    """Every waiting step whose deadline passed by ``now``, earliest first, a page at a time.

    The sweep reads on past the steps it must pass over until it has found its ``limit`` or read them
    all: if it stopped after a fixed number, the overdue steps of one lagging partition could fill
    every page and hold up the steps of every healthy partition for ever.
    """
    after: tuple[datetime, int] | None = None
    while True:
        steps = SagaStep.objects.filter(status__in=WAITING_STATUSES, deadline_at__lte=now)
        if after is not None:
            steps = steps.filter(Q(deadline_at__gt=after[0]) | Q(deadline_at=after[0], pk__gt=after[1]))
        rows = list(
            steps.order_by("deadline_at", "pk").values_list("saga_id", "saga__order_id", "deadline_at", "pk")[
                :page
            ]
        )
        for saga_id, order_id, deadline, _pk in rows:
            if deadline is not None:  # always, by the filter: said for the type checker
                yield saga_id, order_id, deadline
        if len(rows) < page:
            return
        last_deadline, last_pk = rows[-1][2], rows[-1][3]
        if last_deadline is None:
            return
        after = (last_deadline, last_pk)


def _expire_one(
    registry: SagaRegistry, policy: RetryPolicy, saga_id: uuid.UUID, judged_until: datetime
) -> int:
    """Retry or give up on the saga's overdue step (1), or find it answered or locked meanwhile (0)."""
    with engine_call(savepoint=True) as unit:
        instance = unit.lock(saga_id, skip_locked=True)
        if instance is None:
            return 0  # another worker has it
        run = SagaRun.of(registry, instance, policy)
        handled = 0
        for step in list(run.steps):  # every overdue branch of a parallel group, each on its own terms
            # (asked again, or given up on, which compensates and abandons the branches beside it)
            if (
                step.status in WAITING_STATUSES
                and step.deadline_at is not None
                and step.deadline_at <= judged_until
            ):
                _step_overdue(run, step)
                handled = 1
        if handled:
            run.save()
        return handled  # 0: answered meanwhile


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
    run.take(run.saga.after_give_up(kind, step.definition_index, run.progress()), None)
