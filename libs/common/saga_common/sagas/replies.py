"""A participant's reply arrives: which step it answers, and what the saga does next.

A reply to any attempt of a waiting step counts. A failure of a compensation (or of the final
command) is asked again with backoff, since those must succeed in the end. A success that arrives after
the saga gave up on its step is undone with the step's compensation; any other stale or unexpected
reply is recorded in the saga's history and ignored.
"""

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from saga_common.messaging import outbox
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.message import Command, Reply, message_class
from saga_common.sagas import unit_of_work
from saga_common.sagas.definition import ActionKind, RetryPolicy, SagaState
from saga_common.sagas.ids import late_compensation_id_for
from saga_common.sagas.models import SagaStep, StepStatus
from saga_common.sagas.registry import SagaRegistry
from saga_common.sagas.run import SagaRun
from saga_common.sagas.unit_of_work import engine_call, record

logger = logging.getLogger(__name__)


def handle_reply(registry: SagaRegistry, policy: RetryPolicy, envelope: Envelope) -> None:
    """Apply ``envelope`` (a reply) to the step of its saga that is waiting for it."""
    with engine_call() as unit:
        saga_id, command_id = _uuid_or_none(envelope.saga_id), _uuid_or_none(envelope.causation_id)
        instance = unit.lock(saga_id) if saga_id else None
        if instance is None:
            logger.warning(
                "reply %s %s for unknown saga %s ignored", envelope.type, envelope.id, envelope.saga_id
            )
            return
        run = SagaRun.of(registry, instance, policy)
        step = run.step_answered_by(command_id) if command_id else None
        if step is None:
            record(instance, "ReplyIgnored", envelope, "no step sent this command")
            return
        reply = envelope.message()
        if not _is_outcome_of(reply, step):
            record(instance, "ReplyIgnored", envelope, f"not an outcome of {step.command_type}")
            return
        assert isinstance(reply, Reply)
        _apply(run, step, reply, envelope)


def _apply(run: SagaRun, step: SagaStep, reply: Reply, envelope: Envelope) -> None:
    saga, instance = run.saga, run.instance
    kind = ActionKind(step.kind)
    # A FAILED saga that gave up on its last step still waits for that step: its late answer moves the
    # saga on as if it had come in time.
    stopped_here = instance.state == SagaState.FAILED and step.position == run.steps[-1].position
    if step.status in (StepStatus.TIMED_OUT, StepStatus.ABANDONED) and not stopped_here:
        _undo_late_effect(run, step, reply, envelope)
        return
    if step.status != StepStatus.STARTED and not stopped_here:
        record(instance, "ReplyIgnored", envelope, f"{step.name} is already {step.status}")
        return
    if not reply.succeeded and saga.retries_failures(kind) and step.attempts < step.give_up_after:
        step.status, step.reply_type = StepStatus.RETRY_WAIT, envelope.type
        step.deadline_at = timezone.now() + timedelta(seconds=run.wait_before_asking_again(step))
        unit_of_work.current().step_changed(step)
        record(instance, "RetryScheduled", envelope, f"{step.name} failed; asking again")
        run.save()
        return
    hook = saga.action(kind, step.definition_index).on_reply.get(type(reply))
    if hook is not None:
        hook(run.data, reply)
    run.finish(step, StepStatus.SUCCEEDED if reply.succeeded else StepStatus.FAILED, envelope.type)
    record(instance, "ReplyReceived", envelope)
    run.take(saga.after_reply(kind, step.definition_index, reply.succeeded, run.progress()), envelope)
    run.save()


def _undo_late_effect(run: SagaRun, step: SagaStep, reply: Reply, envelope: Envelope) -> None:
    """A step the saga gave up on (or stopped waiting for: a branch beside it failed, an operator
    compensated) answered after all; if it took effect, compensate it again.

    The saga already sent the step's compensation, but a participant may have applied the late
    command after that compensation (for example, replayed from a dead-letter topic), so the effect is
    undone once more. Compensations are idempotent.
    """
    kind, instance = ActionKind(step.kind), run.instance
    if not (reply.succeeded and run.saga.has_compensation(kind, step.definition_index)):
        record(instance, "ReplyIgnored", envelope, f"{step.name} was {step.status}; nothing to undo")
        return
    compensation = run.saga.action(ActionKind.COMPENSATION, step.definition_index)
    sent = outbox.send(
        compensation.make_command(run.data),
        order_id=instance.order_id,
        correlation_id=instance.correlation_id,
        saga_id=str(instance.id),
        causation=envelope,
        message_id=str(late_compensation_id_for(instance.id, envelope.id)),
    )
    record(instance, "LateReplyCompensated", sent, f"{step.name} succeeded after the saga gave up")


def _is_outcome_of(reply: Any, step: SagaStep) -> bool:
    command_type = message_class(step.command_type)
    return (
        isinstance(reply, Reply)
        and issubclass(command_type, Command)
        and type(reply) in command_type.outcomes
    )


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
