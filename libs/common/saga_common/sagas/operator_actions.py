"""What an operator may do to a stuck saga: retry it (forward recovery) or compensate it.

Both are idempotent and serialised by the saga's row lock, so two operators acting at once send one
command; a refused action raises a ``DomainError`` (``Conflict``, or ``NotFound`` for no such saga).
"""

import uuid
from collections.abc import Mapping
from typing import Any

from saga_common.errors import Conflict, NotFound
from saga_common.sagas import unit_of_work
from saga_common.sagas.definition import ActionKind, RetryPolicy, Saga, SagaState
from saga_common.sagas.models import WAITING_STATUSES, SagaInstance, StepStatus
from saga_common.sagas.run import SagaRun
from saga_common.sagas.unit_of_work import engine_call, record


def retry(definitions: Mapping[str, Saga[Any]], policy: RetryPolicy, saga_id: uuid.UUID) -> SagaInstance:
    """Send the action a FAILED saga stopped at again, with a fresh round of attempts.

    Idempotent: a saga that is already running again (RUNNING or COMPENSATING) is returned as it is. A
    finished saga (COMPLETED, COMPENSATED) cannot be retried.
    """
    with engine_call(savepoint=True):
        instance = _lock_saga(saga_id)
        if instance.state in (SagaState.RUNNING, SagaState.COMPENSATING):
            return instance
        if instance.state != SagaState.FAILED:
            raise Conflict(f"only a FAILED saga can be retried; this one is {instance.state}")
        run = SagaRun(definitions[instance.saga_type], instance, policy)
        step = run.stopped_step()
        if step is None:
            raise Conflict("this saga has no failed step to retry")
        kind = ActionKind(step.kind)
        run.send(kind, step.definition_index, None, again=step)
        record(instance, "OperatorRetry", None, f"retrying {step.name}, attempt {step.attempts}")
        run.set_state(SagaState.RUNNING if kind is ActionKind.FORWARD else SagaState.COMPENSATING)
        run.save()
        return instance


def compensate(definitions: Mapping[str, Saga[Any]], policy: RetryPolicy, saga_id: uuid.UUID) -> SagaInstance:
    """Undo what a saga did: abandon a RUNNING saga before its pivot, or resume a failed compensation.

    Idempotent: a saga already compensating or compensated is returned as it is. Refused once the pivot's
    command was sent, pending or FAILED: the pivot may have taken effect, so such a saga can only go
    forward (``retry``). COMPLETED sagas are refused too.
    """
    with engine_call(savepoint=True):
        instance = _lock_saga(saga_id)
        if instance.state in (SagaState.COMPENSATING, SagaState.COMPENSATED):
            return instance
        run = SagaRun(definitions[instance.saga_type], instance, policy)
        if instance.state == SagaState.FAILED:
            _resume_compensation(run)
        else:
            _abandon(run)
        run.save()
        return instance


def _resume_compensation(run: SagaRun) -> None:
    step = run.stopped_step()
    if step is None or ActionKind(step.kind) is ActionKind.FORWARD:
        raise Conflict("this saga failed past its pivot; it can only go forward (retry)")
    run.send(ActionKind(step.kind), step.definition_index, None, again=step)
    record(run.instance, "OperatorCompensate", None, f"resuming compensation at {step.name}")
    run.set_state(SagaState.COMPENSATING)


def _abandon(run: SagaRun) -> None:
    pending = next((s for s in run.steps if s.status in WAITING_STATUSES), None)
    if run.instance.state != SagaState.RUNNING or pending is None:
        raise Conflict(f"a {run.instance.state} saga cannot be compensated")
    if not run.saga.can_abandon_at(pending.definition_index):
        raise Conflict(
            f"this saga has sent {pending.command_type} (its pivot or a later step), which may "
            "already have taken effect; it can only go forward (retry once it has FAILED)"
        )
    run.finish(pending, StepStatus.FAILED, "")
    record(run.instance, "OperatorCompensate", None, f"abandoned {pending.name}")
    # The abandoned step may have taken effect already: compensate it too (compensations are
    # idempotent, so undoing something that never happened is harmless).
    run.take(run.saga.compensation_from(pending.definition_index), None)


def _lock_saga(saga_id: uuid.UUID) -> SagaInstance:
    instance = unit_of_work.current().lock(saga_id)
    if instance is None:
        raise NotFound(f"no saga {saga_id}")
    return instance
