"""What an operator may do to a stuck saga: retry it (forward recovery) or compensate it.

Both are idempotent and serialised by the saga's row lock, so two operators acting at once send one
command; a refused action raises a ``DomainError`` (``Conflict``, or ``NotFound`` for no such saga).
"""

import uuid

from saga_common.errors import Conflict, NotFound
from saga_common.sagas import unit_of_work
from saga_common.sagas.definition import ActionKind, RetryPolicy, SagaState
from saga_common.sagas.models import SagaInstance
from saga_common.sagas.registry import SagaRegistry, UnknownSagaVersion
from saga_common.sagas.run import SagaRun
from saga_common.sagas.unit_of_work import engine_call, record


def retry(registry: SagaRegistry, policy: RetryPolicy, saga_id: uuid.UUID) -> SagaInstance:
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
        run = _run_of(registry, policy, instance)
        step = run.stopped_step()
        if step is None:
            raise Conflict("this saga has no failed step to retry")
        kind = ActionKind(step.kind)
        run.send(kind, step.definition_index, None, again=step)
        record(instance, "OperatorRetry", None, f"retrying {step.name}, attempt {step.attempts}")
        run.set_state(SagaState.RUNNING if kind is ActionKind.FORWARD else SagaState.COMPENSATING)
        run.save()
        return instance


def compensate(registry: SagaRegistry, policy: RetryPolicy, saga_id: uuid.UUID) -> SagaInstance:
    """Undo what a saga did: abandon a RUNNING saga before its pivot, or resume a failed compensation.

    Idempotent: a saga already compensating or compensated is returned as it is. Refused once the pivot's
    command was sent, pending or FAILED: the pivot may have taken effect, so such a saga can only go
    forward (``retry``). COMPLETED sagas are refused too.
    """
    with engine_call(savepoint=True):
        instance = _lock_saga(saga_id)
        if instance.state in (SagaState.COMPENSATING, SagaState.COMPENSATED):
            return instance
        if instance.state == SagaState.COMPLETED:
            raise Conflict("a COMPLETED saga cannot be compensated")
        run = _run_of(registry, policy, instance)
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
    pending = run.waiting_steps(ActionKind.FORWARD)
    if run.instance.state != SagaState.RUNNING or not pending:
        raise Conflict(f"a {run.instance.state} saga cannot be compensated")
    past_pivot = next((s for s in pending if not run.saga.can_abandon_at(s.definition_index)), None)
    if past_pivot is not None:
        raise Conflict(
            f"this saga has sent {past_pivot.command_type} (its pivot or a later step), which may "
            "already have taken effect; it can only go forward (retry once it has FAILED)"
        )
    record(run.instance, "OperatorCompensate", None, f"abandoned {', '.join(s.name for s in pending)}")
    # The abandoned steps may have taken effect already: they are compensated too (compensations are
    # idempotent, so undoing something that never happened is harmless), and so is a late success.
    latest = max(run.saga.group_at(s.definition_index)[-1] for s in pending)
    run.take(run.saga.compensation_from(latest, run.progress()), None)


def _run_of(registry: SagaRegistry, policy: RetryPolicy, instance: SagaInstance) -> SagaRun:
    """The saga's run on its definition version; a version this orchestrator lacks is a refusal (the
    start-up check keeps it from happening to an unfinished saga)."""
    try:
        return SagaRun.of(registry, instance, policy)
    except UnknownSagaVersion as exc:
        raise Conflict(f"{exc}: register it again to act on this saga") from exc


def _lock_saga(saga_id: uuid.UUID) -> SagaInstance:
    instance = unit_of_work.current().lock(saga_id)
    if instance is None:
        raise NotFound(f"no saga {saga_id}")
    return instance
