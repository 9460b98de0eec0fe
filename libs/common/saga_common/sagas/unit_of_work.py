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

import contextvars
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from saga_common.messaging.envelope import Envelope
from saga_common.sagas.models import SagaEvent, SagaInstance, SagaStep

_current: contextvars.ContextVar["UnitOfWork | None"] = contextvars.ContextVar(
    "saga_unit_of_work", default=None
)

# Columns a transition can change, with their SQL types (for the VALUES list's casts).
_INSTANCE_COLUMNS = (
    ("state", "varchar"),
    ("current_step", "varchar"),
    ("data", "jsonb"),
    ("trace_parent", "varchar"),
    ("updated_at", "timestamptz"),
)
_STEP_COLUMNS = (
    ("status", "varchar"),
    ("attempts", "integer"),
    ("command_id", "uuid"),
    ("command_ids", "uuid[]"),
    ("reply_type", "varchar"),
    ("give_up_after", "integer"),
    ("deadline_at", "timestamptz"),
    ("started_at", "timestamptz"),
    ("finished_at", "timestamptz"),
)


class UnitOfWork:
    """The sagas an engine call has locked, and the writes its transitions have noted."""

    def __init__(self) -> None:
        self._sagas: dict[uuid.UUID, SagaInstance | None] = {}  # None: looked for, not there
        self._steps: dict[uuid.UUID, list[SagaStep]] = {}
        self._changed_sagas: dict[uuid.UUID, SagaInstance] = {}
        self._new_sagas: list[SagaInstance] = []
        self._new_steps: list[SagaStep] = []
        self._changed_steps: dict[int, SagaStep] = {}
        self.events: list[SagaEvent] = []

    # reads

    def preload(self, saga_ids: Iterable[uuid.UUID]) -> None:
        """Lock and read these sagas and their steps: two statements for the lot.

        The rows are locked in id order, so two workers loading overlapping sets cannot deadlock.
        """
        wanted = sorted({i for i in saga_ids if i not in self._sagas})
        if not wanted:
            return
        found = {
            s.id: s for s in SagaInstance.objects.select_for_update().filter(id__in=wanted).order_by("id")
        }
        for saga_id in wanted:
            self._sagas[saga_id] = found.get(saga_id)
        for saga_id in found:
            self._steps[saga_id] = []
        for step in SagaStep.objects.filter(saga_id__in=list(found)).order_by("saga_id", "position"):
            self._steps[step.saga_id].append(step)

    def lock(self, saga_id: uuid.UUID, *, skip_locked: bool = False) -> SagaInstance | None:
        """The saga, its row locked for this transaction (None: no such saga, or, with ``skip_locked``,
        another transaction holds it)."""
        if saga_id in self._sagas:
            return self._sagas[saga_id]
        instance = SagaInstance.objects.select_for_update(skip_locked=skip_locked).filter(id=saga_id).first()
        if instance is not None or not skip_locked:  # a skipped row is not known to be absent
            self._sagas[saga_id] = instance
        return instance

    def steps_of(self, instance: SagaInstance) -> list[SagaStep]:
        """The saga's steps in order; the same list for every run of it in this unit of work."""
        steps = self._steps.get(instance.id)
        if steps is None:
            steps = self._steps[instance.id] = list(SagaStep.objects.filter(saga_id=instance.id))
        return steps

    # writes, noted

    def add_saga(self, instance: SagaInstance) -> None:
        self._sagas[instance.id] = instance
        self._steps[instance.id] = []
        self._new_sagas.append(instance)

    def saga_changed(self, instance: SagaInstance) -> None:
        if not instance._state.adding:
            self._changed_sagas[instance.id] = instance

    def add_step(self, step: SagaStep) -> None:
        self._steps.setdefault(step.saga_id, []).append(step)
        self._new_steps.append(step)

    def step_changed(self, step: SagaStep) -> None:
        if step.pk is not None:  # a new step is inserted as it is at the end
            self._changed_steps[step.pk] = step

    # the writes, at the end

    def flush(self) -> None:
        """Write what the transitions noted: at most five statements, whatever the number of sagas."""
        now = timezone.now()
        if self._new_sagas:
            SagaInstance.objects.bulk_create(self._new_sagas)
            for instance in self._new_sagas:
                instance._state.adding = False
        if self._changed_sagas:
            for instance in self._changed_sagas.values():
                instance.updated_at = now
            _update_from_values(
                SagaInstance._meta.db_table,
                ("id", "uuid"),
                _INSTANCE_COLUMNS,
                [
                    (i.id, i.state, i.current_step, json.dumps(i.data), i.trace_parent, i.updated_at)
                    for i in self._changed_sagas.values()
                ],
            )
        if self._new_steps:
            SagaStep.objects.bulk_create(self._new_steps)
        if self._changed_steps:
            _update_from_values(
                SagaStep._meta.db_table,
                ("id", "bigint"),
                _STEP_COLUMNS,
                [
                    (
                        s.pk,
                        s.status,
                        s.attempts,
                        s.command_id,
                        list(s.command_ids),
                        s.reply_type,
                        s.give_up_after,
                        s.deadline_at,
                        s.started_at,
                        s.finished_at,
                    )
                    for s in self._changed_steps.values()
                ],
            )
        if self.events:
            SagaEvent.objects.bulk_create(self.events)
        self._new_sagas, self._new_steps, self.events = [], [], []
        self._changed_sagas, self._changed_steps = {}, {}


def _update_from_values(
    table: str, key: tuple[str, str], columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]
) -> None:
    """``UPDATE table SET c = v.c, ... FROM (VALUES (...), ...) v WHERE table.key = v.key``: one statement."""
    typed = [key, *columns]
    row = "(" + ", ".join(f"%s::{sql_type}" for _, sql_type in typed) + ")"
    sql = (
        f"UPDATE {table} AS t SET {', '.join(f'{name} = v.{name}' for name, _ in columns)} "
        f"FROM (VALUES {', '.join([row] * len(rows))}) AS v({', '.join(name for name, _ in typed)}) "
        f"WHERE t.{key[0]} = v.{key[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for values in rows for value in values])


def current() -> UnitOfWork:
    """The unit of work of the engine call in progress."""
    unit = _current.get()
    if unit is None:
        raise RuntimeError("sagas are read and changed only inside an engine call (engine_call)")
    return unit


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
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    unit = UnitOfWork()
    token = _current.set(unit)
    try:
        with transaction.atomic(savepoint=savepoint):
            yield unit
            unit.flush()
    finally:
        _current.reset(token)


def record(instance: SagaInstance, event: str, envelope: Envelope | None, detail: str = "") -> None:
    """Add an event to the saga's history (written when the engine call ends)."""
    current().events.append(
        SagaEvent(
            saga=instance,
            event=event,
            message_type=envelope.type if envelope else "",
            message_id=envelope.id if envelope else "",
            detail=detail[:500],
        )
    )
