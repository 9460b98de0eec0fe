"""The saga engine: start sagas, match replies to steps, send the next command, compensate.

Every change of a saga happens in one database transaction that locks the saga's row and writes the
next command to the outbox, so the state and the command it implies can never disagree. Commands
carry deterministic ids (saga id, action, attempt), so a participant can drop a retried duplicate.

Every command has a deadline stored with its step. ``expire_due_steps`` (run periodically by the
orchestrator's worker) sends an unanswered command again with backoff and, after the policy's last
attempt, gives up on the step: before the pivot the saga compensates, otherwise it waits in FAILED
for an operator. Because deadlines live in the database, they survive restarts of the orchestrator.
"""

import contextvars
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from saga_common import outbox
from saga_common.api import DomainError
from saga_common.contracts import Command, Reply, message_class
from saga_common.envelope import Envelope
from saga_common.metrics import SAGA_STEP_SECONDS, SAGAS_FINISHED
from saga_common.sagas.definition import (
    ActionKind,
    Finish,
    Invoke,
    RetryPolicy,
    Saga,
    SagaState,
    Transition,
)
from saga_common.sagas.models import WAITING_STATUSES, SagaEvent, SagaInstance, SagaStep, StepStatus

logger = logging.getLogger(__name__)

SAGA_NAMESPACE = uuid.UUID("5a6a0000-0000-4000-8000-000000000000")


def saga_id_for(saga_name: str, order_id: str) -> uuid.UUID:
    """The one saga id for this saga type and order: a second start finds the first."""
    return uuid.uuid5(SAGA_NAMESPACE, f"{saga_name}:{order_id}")


def command_id_for(saga_id: uuid.UUID, kind: ActionKind, index: int, attempt: int) -> uuid.UUID:
    return uuid.uuid5(saga_id, f"{kind.value}:{index}:{attempt}")


def retry_policy_from_settings() -> RetryPolicy:
    return RetryPolicy(
        timeout=settings.SAGA_STEP_TIMEOUT_SECONDS,
        max_attempts=settings.SAGA_STEP_MAX_ATTEMPTS,
        max_wait=settings.SAGA_STEP_MAX_WAIT_SECONDS,
    )


class SagaEngine:
    """Run the given saga definitions against the orchestrator's database and outbox."""

    def __init__(self, definitions: Iterable[Saga[Any]], policy: RetryPolicy | None = None) -> None:
        self.definitions = {definition.name: definition for definition in definitions}
        self._policy = policy

    @property
    def policy(self) -> RetryPolicy:
        """The given policy, else the settings' (read each time, so tests can change settings)."""
        return self._policy or retry_policy_from_settings()

    # --- entry points (each runs inside the caller's transaction, e.g. the inbox's) ----------

    def start(self, saga: Saga[Any], *, order_id: str, data: Any, cause: Envelope) -> SagaInstance:
        """Start ``saga`` for ``order_id`` unless it already runs; return the saga."""
        saga_id = saga_id_for(saga.name, order_id)
        with _step_transaction():
            existing = SagaInstance.objects.filter(id=saga_id).first()
            if existing is not None:
                _record(existing, "StartIgnored", cause, "this order already has its saga")
                return existing
            instance = SagaInstance.objects.create(
                id=saga_id,
                saga_type=saga.name,
                order_id=order_id,
                state=SagaState.RUNNING,
                data=saga.dump_data(data),
                correlation_id=cause.correlation_id,
            )
            _record(instance, "SagaStarted", cause)
            self._apply(saga, instance, saga.first(), data, cause, position=0)
            instance.save()
        return instance

    def handle_reply(self, envelope: Envelope) -> None:
        """Apply a participant's reply to the step that is waiting for it; ignore stale replies.

        A reply to any attempt of a waiting step counts. A success that arrives after the saga gave
        up on its step is undone with the step's compensation; any other late reply is ignored.
        """
        with _step_transaction():
            saga_id, command_id = _uuid_or_none(envelope.saga_id), _uuid_or_none(envelope.causation_id)
            instance = (
                SagaInstance.objects.select_for_update().filter(id=saga_id).first() if saga_id else None
            )
            if instance is None:
                logger.warning(
                    "reply %s %s for unknown saga %s ignored", envelope.type, envelope.id, envelope.saga_id
                )
                return
            steps = list(instance.steps.all())
            step = _step_answered_by(instance, steps, command_id) if command_id else None
            if step is None:
                _record(instance, "ReplyIgnored", envelope, "no step sent this command")
                return
            reply = envelope.message()
            command_type = message_class(step.command_type)
            if (
                not isinstance(reply, Reply)
                or not issubclass(command_type, Command)
                or type(reply) not in command_type.outcomes
            ):
                _record(instance, "ReplyIgnored", envelope, f"not an outcome of {step.command_type}")
                return
            saga = self.definitions[instance.saga_type]
            kind = ActionKind(step.kind)
            # A FAILED saga that gave up on its last step still waits for that step: its late answer
            # moves the saga on as if it had come in time.
            stopped_here = instance.state == SagaState.FAILED and step.position == steps[-1].position
            if step.status == StepStatus.TIMED_OUT and not stopped_here:
                self._undo_late_effect(saga, instance, step, reply, envelope)
                return
            if step.status != StepStatus.STARTED and not stopped_here:
                _record(instance, "ReplyIgnored", envelope, f"{step.name} is already {step.status}")
                return
            if not reply.succeeded and saga.retries_failures(kind) and step.attempts < step.give_up_after:
                step.status, step.reply_type = StepStatus.RETRY_WAIT, envelope.type
                step.deadline_at = timezone.now() + timedelta(seconds=self._wait(saga, step))
                step.save(update_fields=["status", "reply_type", "deadline_at"])
                _record(instance, "RetryScheduled", envelope, f"{step.name} failed; asking again")
                instance.save()
                return
            data = saga.load_data(instance.data)
            hook = saga.action(kind, step.definition_index).on_reply.get(type(reply))
            if hook is not None:
                hook(data, reply)
            _finish_step(step, StepStatus.SUCCEEDED if reply.succeeded else StepStatus.FAILED, envelope.type)
            _record(instance, "ReplyReceived", envelope)
            self._apply(
                saga,
                instance,
                saga.after_reply(kind, step.definition_index, reply.succeeded),
                data,
                envelope,
                position=len(steps),
            )
            instance.save()

    def expire_due_steps(
        self,
        *,
        limit: int = 100,
        now: datetime | None = None,
        replies_handled_until: Callable[[str], datetime | None] | None = None,
    ) -> int:
        """Ask again (or give up on) steps whose deadline passed by ``now``; return how many.

        ``replies_handled_until(order_id)`` says up to when the replies of that order's saga have been
        handled (``saga_common.progress.handled_until``; None: unknown). A deadline is only judged once
        it is behind that moment: a reply sitting unread in a backlog, or in a partition whose worker
        died, is not a missing reply, and resending because the orchestrator itself is behind would
        only feed the backlog (a retry storm). Without it, deadlines are judged against ``now``.

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
                handled += self._expire_one(saga_id, judged_until)
            except Exception:  # one saga that cannot move must not stop the sweep for every other
                logger.exception(
                    "saga %s: its overdue step could not be handled; next sweep tries again", saga_id
                )
        return handled

    def _expire_one(self, saga_id: uuid.UUID, judged_until: datetime) -> int:
        """Retry or give up on the saga's overdue step (1), or find it answered or locked meanwhile (0).

        With a savepoint, so that a failure leaves a caller's transaction usable for the next saga."""
        with _step_transaction(savepoint=True):
            instance = SagaInstance.objects.select_for_update(skip_locked=True).filter(id=saga_id).first()
            step = (
                instance.steps.filter(status__in=WAITING_STATUSES, deadline_at__lte=judged_until).first()
                if instance is not None
                else None
            )
            if instance is None or step is None:
                return 0  # answered meanwhile, or another worker has it
            self._step_overdue(self.definitions[instance.saga_type], instance, step)
            instance.save()
            return 1

    # --- operator actions -------------------------------------------------------------------

    def retry(self, saga_id: uuid.UUID) -> SagaInstance:
        """Send the action a FAILED saga stopped at again, with a fresh round of attempts.

        Idempotent: a saga that is already running again (RUNNING or COMPENSATING) is returned as it
        is. A finished saga (COMPLETED, COMPENSATED) cannot be retried.
        """
        with _step_transaction(savepoint=True):
            instance = _lock_saga(saga_id)
            if instance.state in (SagaState.RUNNING, SagaState.COMPENSATING):
                return instance
            if instance.state != SagaState.FAILED:
                raise DomainError(f"only a FAILED saga can be retried; this one is {instance.state}")
            step = instance.steps.filter(status__in=STOPPED_STATUSES).order_by("-position").first()
            if step is None:
                raise DomainError("this saga has no failed step to retry")
            saga = self.definitions[instance.saga_type]
            kind = ActionKind(step.kind)
            self._send(saga, instance, kind, step.definition_index, saga.load_data(instance.data), None, step)
            _record(instance, "OperatorRetry", None, f"retrying {step.name}, attempt {step.attempts}")
            forward = kind is ActionKind.FORWARD
            self._set_state(instance, SagaState.RUNNING if forward else SagaState.COMPENSATING)
            instance.save()
            return instance

    def compensate(self, saga_id: uuid.UUID) -> SagaInstance:
        """Undo what a saga did: abandon a RUNNING saga before its pivot, or resume a failed compensation.

        Idempotent: a saga already compensating or compensated is returned as it is. Refused (409) once
        the pivot's command was sent, pending or FAILED: the pivot may have taken effect, so such a
        saga can only go forward (``retry``). COMPLETED sagas are refused too.
        """
        with _step_transaction(savepoint=True):
            instance = _lock_saga(saga_id)
            if instance.state in (SagaState.COMPENSATING, SagaState.COMPENSATED):
                return instance
            saga = self.definitions[instance.saga_type]
            if instance.state == SagaState.FAILED:
                step = instance.steps.filter(status__in=STOPPED_STATUSES).order_by("-position").first()
                if step is None or ActionKind(step.kind) is ActionKind.FORWARD:
                    raise DomainError("this saga failed past its pivot; it can only go forward (retry)")
                self._send(
                    saga,
                    instance,
                    ActionKind(step.kind),
                    step.definition_index,
                    saga.load_data(instance.data),
                    None,
                    step,
                )
                _record(instance, "OperatorCompensate", None, f"resuming compensation at {step.name}")
                self._set_state(instance, SagaState.COMPENSATING)
                instance.save()
                return instance
            pending = instance.steps.filter(status__in=WAITING_STATUSES).first()
            if instance.state != SagaState.RUNNING or pending is None:
                raise DomainError(f"a {instance.state} saga cannot be compensated")
            if not saga.can_abandon_at(pending.definition_index):
                raise DomainError(
                    f"this saga has sent {pending.command_type} (its pivot or a later step), which may "
                    "already have taken effect; it can only go forward (retry once it has FAILED)"
                )
            _finish_step(pending, StepStatus.FAILED, "")
            _record(instance, "OperatorCompensate", None, f"abandoned {pending.name}")
            # The abandoned step may have taken effect already: compensate it too
            # (compensations are idempotent, so undoing something that never happened is harmless).
            self._apply(
                saga,
                instance,
                saga.compensation_from(pending.definition_index),
                saga.load_data(instance.data),
                None,
            )
            instance.save()
            return instance

    # --- internals --------------------------------------------------------------------------

    def _apply(
        self,
        saga: Saga[Any],
        instance: SagaInstance,
        transition: Transition,
        data: Any,
        cause: Envelope | None,
        position: int | None = None,
    ) -> None:
        """Take ``transition``; ``position`` is where a new step goes, if the caller knows it."""
        if isinstance(transition, Invoke):
            self._send(saga, instance, transition.kind, transition.index, data, cause, position=position)
        elif isinstance(transition, Finish):
            instance.current_step = ""
        self._set_state(instance, transition.state)
        instance.data = saga.dump_data(data)

    @staticmethod
    def _set_state(instance: SagaInstance, state: SagaState) -> None:
        if instance.state != state:
            _record(instance, "StateChanged", None, f"{instance.state} -> {state}")
            if state in (SagaState.COMPLETED, SagaState.COMPENSATED, SagaState.FAILED):
                SAGAS_FINISHED.labels(instance.saga_type, state.value).inc()
        instance.state = state

    def _wait(self, saga: Saga[Any], step: SagaStep) -> float:
        action = saga.action(ActionKind(step.kind), step.definition_index)
        return self.policy.wait(step.attempts, action.timeout)

    def _step_overdue(self, saga: Saga[Any], instance: SagaInstance, step: SagaStep) -> None:
        """The step's deadline passed: send its command again, or give up on it."""
        data = saga.load_data(instance.data)
        kind = ActionKind(step.kind)
        if step.status == StepStatus.RETRY_WAIT or step.attempts < step.give_up_after:
            reason = "failed" if step.status == StepStatus.RETRY_WAIT else "no reply"
            self._send(saga, instance, kind, step.definition_index, data, None, step)
            _record(instance, "StepRetried", None, f"{step.name} ({reason}), attempt {step.attempts}")
            return
        _finish_step(step, StepStatus.TIMED_OUT, "")
        _record(instance, "StepTimedOut", None, f"{step.name}: no reply to {step.attempts} attempts")
        self._apply(saga, instance, saga.after_give_up(kind, step.definition_index), data, None)

    def _undo_late_effect(
        self, saga: Saga[Any], instance: SagaInstance, step: SagaStep, reply: Reply, envelope: Envelope
    ) -> None:
        """A step the saga gave up on answered after all; if it took effect, compensate it again.

        The saga already sent the step's compensation when it gave up, but a participant may have
        applied the late command after that compensation (for example, replayed from a dead-letter
        topic), so the effect is undone once more. Compensations are idempotent.
        """
        kind = ActionKind(step.kind)
        if not (reply.succeeded and saga.has_compensation(kind, step.definition_index)):
            _record(instance, "ReplyIgnored", envelope, f"{step.name} timed out; nothing to undo")
            return
        compensation = saga.action(ActionKind.COMPENSATION, step.definition_index)
        sent = outbox.send(
            compensation.make_command(saga.load_data(instance.data)),
            order_id=instance.order_id,
            correlation_id=instance.correlation_id,
            saga_id=str(instance.id),
            causation=envelope,
            message_id=str(uuid.uuid5(instance.id, f"late:{envelope.id}")),
        )
        _record(instance, "LateReplyCompensated", sent, f"{step.name} succeeded after the saga gave up")

    def _send(
        self,
        saga: Saga[Any],
        instance: SagaInstance,
        kind: ActionKind,
        index: int,
        data: Any,
        cause: Envelope | None,
        retry_of: SagaStep | None = None,
        position: int | None = None,
    ) -> None:
        action = saga.action(kind, index)
        command = action.make_command(data)
        attempt = retry_of.attempts + 1 if retry_of else 1
        command_id = command_id_for(instance.id, kind, index, attempt)
        now = timezone.now()
        deadline = now + timedelta(seconds=self.policy.wait(attempt, action.timeout))
        envelope = outbox.send(
            command,
            order_id=instance.order_id,
            correlation_id=instance.correlation_id,
            saga_id=str(instance.id),
            causation=cause,
            message_id=str(command_id),
        )
        if retry_of is not None:
            if retry_of.status in STOPPED_STATUSES:  # an operator's retry: a whole new round
                retry_of.give_up_after = attempt + self.policy.max_attempts - 1
            retry_of.status, retry_of.attempts, retry_of.command_id = StepStatus.STARTED, attempt, command_id
            retry_of.started_at, retry_of.finished_at, retry_of.reply_type = now, None, ""
            retry_of.deadline_at = deadline
            retry_of.save()
        else:
            SagaStep.objects.create(
                saga=instance,
                position=instance.steps.count() if position is None else position,
                name=action.name,
                kind=kind,
                definition_index=index,
                status=StepStatus.STARTED,
                command_id=command_id,
                command_type=command.type_name(),
                give_up_after=self.policy.max_attempts,
                deadline_at=deadline,
                started_at=now,
            )
        instance.current_step = action.name
        _record(instance, "CommandSent", envelope)


# Steps a saga stopped at: an operator's retry or compensate starts there.
STOPPED_STATUSES = (StepStatus.FAILED, StepStatus.TIMED_OUT)


def _step_answered_by(
    instance: SagaInstance, steps: list[SagaStep], command_id: uuid.UUID
) -> SagaStep | None:
    """The step that sent ``command_id`` in any of its attempts (ids are deterministic)."""
    for step in steps:
        kind = ActionKind(step.kind)
        attempts = range(1, step.attempts + 1)
        if any(command_id_for(instance.id, kind, step.definition_index, a) == command_id for a in attempts):
            return step
    return None


def _lock_saga(saga_id: uuid.UUID) -> SagaInstance:
    instance = SagaInstance.objects.select_for_update().filter(id=saga_id).first()
    if instance is None:
        raise DomainError(f"no saga {saga_id}", status_code=404)
    return instance


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _finish_step(step: SagaStep, status: StepStatus, reply_type: str) -> None:
    step.status, step.reply_type, step.finished_at = status, reply_type, timezone.now()
    elapsed = (step.finished_at - step.started_at).total_seconds()
    SAGA_STEP_SECONDS.labels(step.saga.saga_type, step.name, status.value).observe(elapsed)
    step.deadline_at = None
    step.save(update_fields=["status", "reply_type", "finished_at", "deadline_at"])


# The events recorded by the engine call under way; written together when it ends.
_journal: contextvars.ContextVar[list[SagaEvent] | None] = contextvars.ContextVar("journal", default=None)


@contextmanager
def _step_transaction(*, savepoint: bool = False) -> Iterator[None]:
    """One engine call: its own transaction, or part of the caller's (the inbox's).

    Messages are handled without a savepoint (two round trips fewer): an error anywhere rolls back the
    caller's whole transaction, which is what the inbox wants (it then retries message by message).
    Operator actions keep theirs, so a refused action leaves a caller's transaction usable. The saga
    events of the call are written in one INSERT at its end rather than one INSERT each.
    """
    events: list[SagaEvent] = []
    token = _journal.set(events)
    try:
        with transaction.atomic(savepoint=savepoint):
            yield
            SagaEvent.objects.bulk_create(events)
    finally:
        _journal.reset(token)


def _record(instance: SagaInstance, event: str, envelope: Envelope | None, detail: str = "") -> None:
    row = SagaEvent(
        saga=instance,
        event=event,
        message_type=envelope.type if envelope else "",
        message_id=envelope.id if envelope else "",
        detail=detail[:500],
    )
    events = _journal.get()
    if events is None:  # every entry point runs in _step_transaction, which writes the events
        raise RuntimeError("saga events are recorded only inside an engine call")
    events.append(row)
