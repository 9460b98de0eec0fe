"""What one engine call (or a whole fetched batch of messages) reads and writes, set-based.

Every engine entry point runs in ``engine_call()``. The first one opens a ``UnitOfWork``: the sagas it
touches are locked and read once (an identity map: a second message for the same saga finds it in
memory, as the first one left it), and what the transitions change is only noted. When the outermost
engine call ends, still inside its transaction, the notes become a handful of statements whatever the
number of sagas: one multi-row INSERT each of new sagas, new steps and history events, and one
``UPDATE ... FROM (VALUES ...)`` each of changed sagas and changed steps.

The inbox opens one engine call around a whole batch (``batch``): one ``SELECT ... FOR UPDATE`` loads
every saga the batch's messages address, with one more for their steps; the rules of each saga run in
memory, message after message, in order; the batch's writes go out together at its end. If anything
fails, the transaction rolls back as a whole and the inbox handles the messages one by one, each in an
engine call of its own: the same code, with a batch of one.
"""

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from saga_common.messaging.envelope import Envelope
from saga_common.sagas.models import SagaEvent, SagaInstance, SagaStep
from saga_common.units import Rows, Unit, note, update_rows

# What a transition can change.
_SAGA_FIELDS = ("state", "current_step", "data", "trace_parent", "updated_at")
_STEP_FIELDS = (
    "status",
    "attempts",
    "command_id",
    "command_ids",
    "reply_type",
    "give_up_after",
    "deadline_at",
    "started_at",
    "finished_at",
)


class UnitOfWork(Unit):
    """The sagas an engine call has locked, their steps, and the writes its transitions have noted."""

    def __init__(self) -> None:
        self._sagas = Rows(SagaInstance, "id", _SAGA_FIELDS)
        self._steps: dict[uuid.UUID, list[SagaStep]] = {}
        self._new_steps: list[SagaStep] = []
        self._changed_steps: dict[int, SagaStep] = {}
        self.events: list[SagaEvent] = []

    # reads

    def preload(self, saga_ids: Iterable[uuid.UUID]) -> None:
        """Lock and read these sagas, then their steps: two statements for the lot."""
        self._sagas.load(saga_ids)
        unread = [s.id for s in self._sagas.loaded() if s.id not in self._steps]
        for saga_id in unread:
            self._steps[saga_id] = []
        if unread:
            for step in SagaStep.objects.filter(saga_id__in=unread).order_by("saga_id", "position"):
                self._steps[step.saga_id].append(step)

    def lock(self, saga_id: uuid.UUID, *, skip_locked: bool = False) -> SagaInstance | None:
        """The saga, its row locked for this transaction (None: no such saga, or, with ``skip_locked``,
        another transaction holds it)."""
        if skip_locked and not self._sagas.holds(saga_id):  # the sweep: a busy saga waits for its next pass
            instance = SagaInstance.objects.select_for_update(skip_locked=True).filter(id=saga_id).first()
            return self._sagas.add_loaded(saga_id, instance) if instance is not None else None
        return self._sagas.get(saga_id)

    def steps_of(self, instance: SagaInstance) -> list[SagaStep]:
        """The saga's steps in order; the same list for every run of it in this unit of work."""
        steps = self._steps.get(instance.id)
        if steps is None:
            steps = self._steps[instance.id] = list(SagaStep.objects.filter(saga_id=instance.id))
        return steps

    # writes, noted

    def add_saga(self, instance: SagaInstance) -> None:
        self._sagas.add(instance)
        self._steps[instance.id] = []

    def saga_changed(self, instance: SagaInstance) -> None:
        self._sagas.changed(instance)

    def add_step(self, step: SagaStep) -> None:
        note()
        self._steps.setdefault(step.saga_id, []).append(step)
        self._new_steps.append(step)

    def step_changed(self, step: SagaStep) -> None:
        note()
        if step.pk is not None:  # a new step is inserted as it is at the end
            self._changed_steps[step.pk] = step

    # the writes, at the end

    def flush(self) -> None:
        """Write what the transitions noted: at most five statements, whatever the number of sagas."""
        self._sagas.flush()
        if self._new_steps:
            SagaStep.objects.bulk_create(self._new_steps)
        if self._changed_steps:
            update_rows(SagaStep, list(self._changed_steps.values()), _STEP_FIELDS)
        if self.events:
            SagaEvent.objects.bulk_create(self.events)
        self._new_steps, self.events, self._changed_steps = [], [], {}


def current() -> UnitOfWork:
    """The unit of work of the engine call in progress."""
    return UnitOfWork.current()


@contextmanager
def engine_call(*, savepoint: bool = False) -> Iterator[UnitOfWork]:
    """One engine call, in one transaction, its writes made together at its end.

    Inside another engine call (the inbox's batch), it is part of that one: its sagas come from the
    same identity map and its writes go out with the batch's.

    Messages are handled without a savepoint (two round trips fewer): an error anywhere rolls back the
    caller's whole transaction, which is what the inbox wants (it then retries message by message).
    Operator actions and the deadline sweep keep one, so a refused action or one saga that cannot move
    leaves a caller's transaction usable.
    """
    with UnitOfWork.scope(savepoint=savepoint) as unit:
        yield unit


def record(instance: SagaInstance, event: str, envelope: Envelope | None, detail: str = "") -> None:
    """Add an event to the saga's history (written when the engine call ends)."""
    UnitOfWork.current().events.append(
        SagaEvent(
            saga=instance,
            event=event,
            message_type=envelope.type if envelope else "",
            message_id=envelope.id if envelope else "",
            detail=detail[:500],
        )
    )
