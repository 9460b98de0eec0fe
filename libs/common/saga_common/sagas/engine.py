"""The saga engine: start sagas, match replies to steps, send the next command, compensate.

Every change of a saga happens in one database transaction that locks the saga's row and writes the
next command to the outbox, so the state and the command it implies can never disagree. Commands
carry deterministic ids (saga id, action, attempt), so a participant can drop a retried duplicate.
"""

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from saga_common import outbox
from saga_common.api import DomainError
from saga_common.contracts import Command, Reply, message_class
from saga_common.envelope import Envelope
from saga_common.sagas.definition import ActionKind, Finish, Invoke, Saga, SagaState, Transition
from saga_common.sagas.models import SagaEvent, SagaInstance, SagaStep, StepStatus

logger = logging.getLogger(__name__)

SAGA_NAMESPACE = uuid.UUID("5a6a0000-0000-4000-8000-000000000000")


def saga_id_for(saga_name: str, order_id: str) -> uuid.UUID:
    """The one saga id for this saga type and order: a second start finds the first."""
    return uuid.uuid5(SAGA_NAMESPACE, f"{saga_name}:{order_id}")


def command_id_for(saga_id: uuid.UUID, kind: ActionKind, index: int, attempt: int) -> uuid.UUID:
    return uuid.uuid5(saga_id, f"{kind.value}:{index}:{attempt}")


class SagaEngine:
    """Run the given saga definitions against the orchestrator's database and outbox."""

    def __init__(self, definitions: Iterable[Saga[Any]]) -> None:
        self.definitions = {definition.name: definition for definition in definitions}

    # --- entry points (each runs inside the caller's transaction, e.g. the inbox's) ----------

    def start(self, saga: Saga[Any], *, order_id: str, data: Any, cause: Envelope) -> SagaInstance:
        """Start ``saga`` for ``order_id`` unless it already runs; return the saga."""
        with transaction.atomic():
            instance, created = SagaInstance.objects.get_or_create(
                id=saga_id_for(saga.name, order_id),
                defaults={
                    "saga_type": saga.name,
                    "order_id": order_id,
                    "state": SagaState.RUNNING,
                    "data": saga.dump_data(data),
                    "correlation_id": cause.correlation_id,
                },
            )
            if not created:
                _record(instance, "StartIgnored", cause, "this order already has its saga")
                return instance
            _record(instance, "SagaStarted", cause)
            self._apply(saga, instance, saga.first(), data, cause)
            instance.save()
        return instance

    def handle_reply(self, envelope: Envelope) -> None:
        """Apply a participant's reply to the step that is waiting for it; ignore stale replies."""
        with transaction.atomic():
            saga_id, command_id = _uuid_or_none(envelope.saga_id), _uuid_or_none(envelope.causation_id)
            instance = (
                SagaInstance.objects.select_for_update().filter(id=saga_id).first() if saga_id else None
            )
            if instance is None:
                logger.warning(
                    "reply %s %s for unknown saga %s ignored", envelope.type, envelope.id, envelope.saga_id
                )
                return
            step = instance.steps.filter(command_id=command_id).first() if command_id else None
            if step is None or step.status != StepStatus.STARTED:
                _record(instance, "ReplyIgnored", envelope, "no step is waiting for this reply")
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
            data = saga.load_data(instance.data)
            kind = ActionKind(step.kind)
            hook = saga.action(kind, step.definition_index).on_reply.get(type(reply))
            if hook is not None:
                hook(data, reply)
            _finish_step(step, StepStatus.SUCCEEDED if reply.succeeded else StepStatus.FAILED, envelope.type)
            _record(instance, "ReplyReceived", envelope)
            self._apply(
                saga, instance, saga.after_reply(kind, step.definition_index, reply.succeeded), data, envelope
            )
            instance.save()

    # --- operator actions -------------------------------------------------------------------

    def retry(self, saga_id: uuid.UUID) -> SagaInstance:
        """Send the failed action of a FAILED saga again, as a new attempt."""
        with transaction.atomic():
            instance = _lock_saga(saga_id)
            if instance.state != SagaState.FAILED:
                raise DomainError(f"only a FAILED saga can be retried; this one is {instance.state}")
            step = instance.steps.filter(status=StepStatus.FAILED).order_by("-position").first()
            if step is None:
                raise DomainError("this saga has no failed step to retry")
            saga = self.definitions[instance.saga_type]
            kind = ActionKind(step.kind)
            state = SagaState.RUNNING if kind is ActionKind.FORWARD else SagaState.COMPENSATING
            self._send(
                saga,
                instance,
                kind,
                step.definition_index,
                saga.load_data(instance.data),
                None,
                retry_of=step,
            )
            _record(instance, "OperatorRetry", None, f"retrying {step.name}, attempt {step.attempts}")
            instance.state = state
            instance.save()
            return instance

    def compensate(self, saga_id: uuid.UUID) -> SagaInstance:
        """Abandon a RUNNING saga that has not passed its pivot and undo what it did."""
        with transaction.atomic():
            instance = _lock_saga(saga_id)
            saga = self.definitions[instance.saga_type]
            pending = instance.steps.filter(status=StepStatus.STARTED).first()
            if instance.state != SagaState.RUNNING or pending is None:
                raise DomainError(f"only a RUNNING saga can be compensated; this one is {instance.state}")
            if not saga.can_compensate_at(pending.definition_index):
                raise DomainError("this saga is past its pivot; it can only go forward (retry)")
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
    ) -> None:
        if isinstance(transition, Invoke):
            self._send(saga, instance, transition.kind, transition.index, data, cause)
        elif isinstance(transition, Finish):
            instance.current_step = ""
        if instance.state != transition.state:
            _record(instance, "StateChanged", None, f"{instance.state} -> {transition.state}")
        instance.state = transition.state
        instance.data = saga.dump_data(data)

    def _send(
        self,
        saga: Saga[Any],
        instance: SagaInstance,
        kind: ActionKind,
        index: int,
        data: Any,
        cause: Envelope | None,
        retry_of: SagaStep | None = None,
    ) -> None:
        action = saga.action(kind, index)
        command = action.make_command(data)
        attempt = retry_of.attempts + 1 if retry_of else 1
        command_id = command_id_for(instance.id, kind, index, attempt)
        envelope = outbox.send(
            command,
            order_id=instance.order_id,
            correlation_id=instance.correlation_id,
            saga_id=str(instance.id),
            causation=cause,
            message_id=str(command_id),
        )
        if retry_of is not None:
            retry_of.status, retry_of.attempts, retry_of.command_id = StepStatus.STARTED, attempt, command_id
            retry_of.started_at, retry_of.finished_at, retry_of.reply_type = timezone.now(), None, ""
            retry_of.save()
        else:
            SagaStep.objects.create(
                saga=instance,
                position=instance.steps.count(),
                name=action.name,
                kind=kind,
                definition_index=index,
                status=StepStatus.STARTED,
                command_id=command_id,
                command_type=command.type_name(),
            )
        instance.current_step = action.name
        _record(instance, "CommandSent", envelope)


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
    step.save(update_fields=["status", "reply_type", "finished_at"])


def _record(instance: SagaInstance, event: str, envelope: Envelope | None, detail: str = "") -> None:
    SagaEvent.objects.create(
        saga=instance,
        event=event,
        message_type=envelope.type if envelope else "",
        message_id=envelope.id if envelope else "",
        detail=detail[:500],
    )
