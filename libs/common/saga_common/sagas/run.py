"""One saga being moved inside one engine call: send a step's command, take a transition, finish a step.

The replies, deadlines and operator actions each decide *what* happens to a saga (with the pure rules
of its definition); a ``SagaRun`` is *how* it happens: the saga's state, its steps and the command the
new state implies are written in the same transaction, with the command in the outbox.
"""

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from saga_common.messaging import outbox
from saga_common.messaging.envelope import Envelope
from saga_common.observability import tracing
from saga_common.observability.metrics import SAGA_SECONDS, SAGA_STEP_SECONDS, SAGAS_FINISHED
from saga_common.sagas import unit_of_work
from saga_common.sagas.definition import (
    ActionKind,
    Invoke,
    Outcome,
    Progress,
    RetryPolicy,
    Saga,
    SagaState,
    Transition,
)
from saga_common.sagas.ids import command_id_for
from saga_common.sagas.models import WAITING_STATUSES, SagaInstance, SagaStep, StepStatus
from saga_common.sagas.spans import sending_step
from saga_common.sagas.unit_of_work import record

if TYPE_CHECKING:
    from saga_common.sagas.registry import SagaRegistry

# Steps a saga stopped at: an operator's retry or compensate starts there.
STOPPED_STATUSES = (StepStatus.FAILED, StepStatus.TIMED_OUT)
ENDED_STATES = (SagaState.COMPLETED, SagaState.COMPENSATED, SagaState.FAILED)
# What the rules make of a forward step's status (``Saga.after_reply``'s progress).
_OUTCOMES = {
    StepStatus.STARTED: Outcome.PENDING,
    StepStatus.RETRY_WAIT: Outcome.PENDING,
    StepStatus.SUCCEEDED: Outcome.SUCCEEDED,
    StepStatus.FAILED: Outcome.REFUSED,
    StepStatus.TIMED_OUT: Outcome.UNKNOWN,
    StepStatus.ABANDONED: Outcome.UNKNOWN,
}


class SagaRun:
    """A saga (its row locked by the caller), its definition, and the retry policy in force."""

    def __init__(
        self,
        saga: Saga[Any],
        instance: SagaInstance,
        policy: RetryPolicy,
        *,
        data: Any = None,
    ) -> None:
        self.saga, self.instance, self.policy = saga, instance, policy
        self._steps: list[SagaStep] | None = None
        self._data = data

    @classmethod
    def of(cls, registry: "SagaRegistry", instance: SagaInstance, policy: RetryPolicy) -> "SagaRun":
        """The run of ``instance`` on the definition version it started on."""
        return cls(registry.of(instance.saga_type, instance.version), instance, policy)

    @property
    def data(self) -> Any:
        """The saga's data, read from its row when first needed (a reply that is ignored never needs it)."""
        if self._data is None:
            self._data = self.saga.load_data(self.instance.data)
        return self._data

    @property
    def steps(self) -> list[SagaStep]:
        """The saga's steps in order (read once per unit of work, and shared by its runs of this saga)."""
        if self._steps is None:
            self._steps = unit_of_work.current().steps_of(self.instance)
        return self._steps

    def stopped_step(self) -> SagaStep | None:
        """The latest step the saga stopped at (failed, or given up), if any."""
        return next((s for s in reversed(self.steps) if s.status in STOPPED_STATUSES), None)

    def progress(self) -> Progress:
        """The outcome of each forward step sent so far, for the rules."""
        return {
            step.definition_index: _OUTCOMES[StepStatus(step.status)]
            for step in self.steps
            if step.kind == ActionKind.FORWARD
        }

    def take(self, transition: Transition, cause: Envelope | None) -> None:
        """Send the transition's commands (a Wait sends none), or finish; the saga is then in the
        transition's state. A saga that stops going forward stops waiting for its forward steps: a
        branch still unanswered is abandoned (compensated if the transition compensates, and undone
        again should its success come after all)."""
        if transition.state != SagaState.RUNNING:
            for step in self.waiting_steps(ActionKind.FORWARD):
                self.finish(step, StepStatus.ABANDONED, "")
                record(self.instance, "StepAbandoned", None, f"{step.name}: the saga no longer waits for it")
        if isinstance(transition, Invoke):
            for index in transition.indexes:
                self.send(transition.kind, index, cause)
        self.set_state(transition.state)
        self.note_current_step()
        if transition.state in ENDED_STATES:  # on the span of what ended it (the last reply, say)
            tracing.annotate({"saga.outcome": transition.state.value.lower()})
        self.instance.data = self.saga.dump_data(self.data)

    def send(
        self, kind: ActionKind, index: int, cause: Envelope | None, *, again: SagaStep | None = None
    ) -> None:
        """Send action (``kind``, ``index``)'s command: a new step, or the next attempt of ``again``."""
        action = self.saga.action(kind, index)
        command = action.make_command(self.data)
        attempt = again.attempts + 1 if again else 1
        command_id = command_id_for(self.instance.id, kind, index, attempt)
        now = timezone.now()
        deadline = now + timedelta(seconds=self.policy.wait(attempt, action.timeout))
        with sending_step(self.instance, action.name, kind.value, attempt, command_id):
            envelope = outbox.send(
                command,
                order_id=self.instance.order_id,
                correlation_id=self.instance.correlation_id,
                saga_id=str(self.instance.id),
                causation=cause,
                message_id=str(command_id),
            )
        if again is not None:
            if again.status in STOPPED_STATUSES:  # an operator's retry: a whole new round of attempts
                again.give_up_after = attempt + self.policy.max_attempts - 1
            again.status, again.attempts, again.command_id = StepStatus.STARTED, attempt, command_id
            again.command_ids = [*again.command_ids, command_id]
            again.started_at, again.finished_at, again.reply_type = now, None, ""
            again.deadline_at = deadline
            unit_of_work.current().step_changed(again)
        else:
            step = SagaStep(
                saga=self.instance,
                position=len(self.steps),
                name=action.name,
                kind=kind,
                definition_index=index,
                status=StepStatus.STARTED,
                command_id=command_id,
                command_ids=[command_id],
                command_type=command.type_name(),
                give_up_after=self.policy.max_attempts,
                deadline_at=deadline,
                started_at=now,
            )
            unit_of_work.current().add_step(step)  # appends it to self.steps, the unit's list
        self.note_current_step()
        record(self.instance, "CommandSent", envelope)

    def waiting_steps(self, kind: ActionKind | None = None) -> list[SagaStep]:
        """The steps still waiting for a reply (of ``kind``, if given)."""
        return [
            step
            for step in self.steps
            if step.status in WAITING_STATUSES and (kind is None or step.kind == kind)
        ]

    def note_current_step(self) -> None:
        """``current_step`` names the steps the saga waits for ("a+b" for branches); "" for none."""
        self.instance.current_step = "+".join(step.name for step in self.waiting_steps())[:64]

    def set_state(self, state: SagaState) -> None:
        if self.instance.state != state:
            record(self.instance, "StateChanged", None, f"{self.instance.state} -> {state}")
            if state in ENDED_STATES:
                SAGAS_FINISHED.labels(self.instance.saga_type, state.value).inc()
                lasted = (timezone.now() - self.instance.created_at).total_seconds()
                SAGA_SECONDS.labels(self.instance.saga_type, state.value).observe(lasted)
        self.instance.state = state

    def finish(self, step: SagaStep, status: StepStatus, reply_type: str) -> None:
        """The step is over (answered, given up or abandoned); observe how long it took."""
        step.status, step.reply_type, step.finished_at = status, reply_type, timezone.now()
        elapsed = (step.finished_at - step.started_at).total_seconds()
        SAGA_STEP_SECONDS.labels(self.instance.saga_type, step.name, status.value).observe(elapsed)
        step.deadline_at = None
        unit_of_work.current().step_changed(step)

    def wait_before_asking_again(self, step: SagaStep) -> float:
        """Seconds until a failed step's command is sent again (the policy's backoff)."""
        action = self.saga.action(ActionKind(step.kind), step.definition_index)
        return self.policy.wait(step.attempts, action.timeout)

    def step_answered_by(self, command_id: uuid.UUID) -> SagaStep | None:
        """The step that sent ``command_id`` in any of its attempts."""
        return next((step for step in self.steps if command_id in step.command_ids), None)

    def save(self) -> None:
        """Note the saga's row as changed; the unit of work writes it when the engine call ends."""
        unit_of_work.current().saga_changed(self.instance)
