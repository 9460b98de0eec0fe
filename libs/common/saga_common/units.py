"""Units of work: what a transaction reads once and writes at its end, in a few set-based statements.

A service's writes run inside its unit of work (a subclass of ``Unit``). Rows are read through it,
once each: the first read locks them (``SELECT ... FOR UPDATE``), later reads come from memory, so a
second message about the same row sees what the first one left. Changes are only noted; when the
outermost scope ends, still inside its transaction, each kind of row is written with one multi-row
INSERT and one ``UPDATE ... FROM (VALUES ...)``, whatever the number of rows.

The inbox runs a whole fetched batch in one scope (the service's ``SAGA_BATCH_SCOPE``), after loading
every row the batch will touch in a statement or two; a write that comes on its own (a REST request,
a test) opens a scope of its own around the same code. So one code path serves a batch of a hundred
and a single message.

The rule for code inside a scope: **check, then change**. A refusal (a ``DomainError``) must be raised
before anything is noted: there is no savepoint to undo a message's notes, and the scope writes all of
them when it ends.
"""

import contextvars
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, Self, TypeVar

from django.db import connection, models, transaction
from django.utils import timezone

M = TypeVar("M", bound=models.Model)

# How many changes have been noted in this context, by every unit: a participant compares it before
# and after a refusal (``saga_common.messaging.participant``), which must come before any change.
_notes: contextvars.ContextVar[int] = contextvars.ContextVar("unit_notes", default=0)


def notes() -> int:
    """A count that grows with every change any unit of work notes here."""
    return _notes.get()


def note() -> None:
    """Count one noted change (each unit's ``add`` and ``changed`` call this)."""
    _notes.set(_notes.get() + 1)


class RefusedAfterChange(RuntimeError):
    """A refusal raised after its message noted changes: they would be written with the refusal's reply."""


class Unit:
    """The base of a service's unit of work: bound to a context variable; an inner scope joins the outer."""

    _current: ClassVar[contextvars.ContextVar[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._current = contextvars.ContextVar(f"{cls.__name__}.current", default=None)

    @classmethod
    def current(cls) -> Self:
        """The unit of the scope in progress."""
        unit = cls._current.get()
        if unit is None:
            raise RuntimeError(
                f"{cls.__name__}: reads and writes go through a scope ({cls.__name__}.scope())"
            )
        assert isinstance(unit, cls)
        return unit

    @classmethod
    @contextmanager
    def scope(cls, *, savepoint: bool = True) -> Iterator[Self]:
        """A unit of work in one transaction, written when the outermost scope ends. Inside another
        scope of this unit, it is part of that one (no savepoint of its own: check, then change).

        Inside a caller's transaction the outermost scope is a savepoint unless ``savepoint=False``,
        so a refusal raised out of it leaves the caller's transaction usable (a participant turns it
        into a reply); without one, any error dooms the caller's whole transaction."""
        outer = cls._current.get()
        if outer is not None:
            yield outer
            return
        unit = cls()
        token = cls._current.set(unit)
        try:
            with transaction.atomic(savepoint=savepoint):
                yield unit
                unit.flush()
        finally:
            cls._current.reset(token)

    def flush(self) -> None:
        """Write what was noted."""
        raise NotImplementedError


class Rows(Generic[M]):
    """The rows of one model by a unique key: read (and locked) once, in bulk where known up front;
    written in bulk: new rows in one INSERT, changed ones in one UPDATE of ``fields``."""

    def __init__(self, model: type[M], key: str, fields: Sequence[str]) -> None:
        self.model, self.key, self.fields = model, key, tuple(fields)
        self._rows: dict[Any, M | None] = {}  # None: looked for, not there
        self._new: list[M] = []
        self._changed: dict[Any, M] = {}

    def load(self, keys: Iterable[Any]) -> None:
        """Lock and read the rows of these keys (one statement), in key order so that two transactions
        loading overlapping sets cannot deadlock."""
        wanted = sorted({k for k in keys if k not in self._rows})
        if not wanted:
            return
        query = self.model._default_manager.select_for_update().filter(**{f"{self.key}__in": wanted})
        found = {getattr(row, self.key): row for row in query.order_by(self.key)}
        for key in wanted:
            self._rows[key] = found.get(key)

    def get(self, key: Any) -> M | None:
        """The row (locked), from memory after the first read."""
        if key not in self._rows:
            self._rows[key] = (
                self.model._default_manager.select_for_update().filter(**{self.key: key}).first()
            )
        return self._rows[key]

    def holds(self, key: Any) -> bool:
        """Whether the row is in memory already (read, locked, or added)."""
        return self._rows.get(key) is not None

    def insert_at_once(self, row: M) -> M:
        """Insert ``row`` now, unless its key is taken, and return the row the key has, locked.

        For a tombstone (a void or cancel that came before what it undoes): a row with the same key
        being committed meanwhile makes the INSERT wait and then do nothing, and the read after it
        locks that row, so two racing commands see one row.
        """
        key = getattr(row, self.key)
        self.model._default_manager.bulk_create([row], ignore_conflicts=True)
        self._rows.pop(key, None)
        found = self.get(key)
        assert found is not None
        return found

    def add_loaded(self, key: Any, row: M) -> M:
        """A row the caller read (and locked) itself."""
        self._rows[key] = row
        return row

    def loaded(self) -> list[M]:
        return [row for row in self._rows.values() if row is not None]

    def add(self, row: M) -> M:
        note()
        self._rows[getattr(row, self.key)] = row
        self._new.append(row)
        return row

    def changed(self, row: M) -> None:
        note()
        if not row._state.adding:  # a new row is inserted as it is at the end
            self._changed[row.pk] = row

    def flush(self) -> None:
        if self._new:
            self.model._default_manager.bulk_create(self._new)
            for row in self._new:
                row._state.adding = False
        if self._changed:
            update_rows(self.model, list(self._changed.values()), self.fields)
        self._new, self._changed = [], {}


def update_rows(model: type[M], rows: Sequence[M], fields: Sequence[str]) -> None:
    """``UPDATE t SET f = v.f, ... FROM (VALUES (...), ...) v WHERE t.pk = v.pk``: one statement for
    every row. An ``auto_now`` field among ``fields`` is set to now, as ``save()`` would."""
    meta = model._meta
    columns: list[models.Field[Any, Any]] = []
    for name in (meta.pk.name, *fields):
        field = meta.get_field(name)
        assert isinstance(field, models.Field)  # a concrete column, not a relation's reverse side
        columns.append(field)
    now = timezone.now()
    for field in columns:
        if getattr(field, "auto_now", False):
            for row in rows:
                setattr(row, field.attname, now)
    # text, not varchar(n): a cast to varchar(n) would cut a long value silently, where assigning text
    # to the column refuses it, as save() would
    placeholder = (
        "("
        + ", ".join(
            f"%s::{'text' if isinstance(field, models.CharField) else field.db_type(connection)}"
            for field in columns
        )
        + ")"
    )
    quoted = [connection.ops.quote_name(str(field.column)) for field in columns]
    sql = (
        f"UPDATE {connection.ops.quote_name(meta.db_table)} AS t "
        f"SET {', '.join(f'{q} = v.{q}' for q in quoted[1:])} "
        f"FROM (VALUES {', '.join([placeholder] * len(rows))}) AS v({', '.join(quoted)}) "
        f"WHERE t.{quoted[0]} = v.{quoted[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                field.get_db_prep_save(getattr(row, field.attname), connection)
                for row in rows
                for field in columns
            ],
        )
