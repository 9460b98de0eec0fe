"""Saga definitions: a fluent description of the steps and the pure rules for what comes next.

A step's ``invoke`` (and ``compensate``) is a pure function ``data -> Command``; ``on_reply`` hooks
``(data, reply) -> None`` copy what a reply tells into the saga data. Nothing here touches a database
or a broker, so a definition can be tested as a specification.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Self, TypeVar

import msgspec

from saga_common.messaging.message import Command, Reply

D = TypeVar("D")
CommandFactory = Callable[[D], Command]
ReplyHook = Callable[[D, Any], None]


class SagaState(StrEnum):
    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    FAILED = "FAILED"


class ActionKind(StrEnum):
    FORWARD = "FORWARD"
    COMPENSATION = "COMPENSATION"
    FINAL = "FINAL"  # the command sent once compensation is done (e.g. RejectOrder)


class SagaDefinitionError(ValueError):
    """The saga is not well formed."""


@dataclass(frozen=True)
class Action(Generic[D]):
    """One command the saga sends, and what to do with the replies to it."""

    name: str
    make_command: CommandFactory[D]
    on_reply: Mapping[type[Reply], ReplyHook[D]] = field(default_factory=dict)
    timeout: float | None = None  # seconds to wait for the first reply; None: the engine's policy


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for a reply, and how often to ask again before giving up.

    Attempt ``n`` waits ``timeout * 2**(n-1)`` seconds (capped at ``max_wait``) before the command is
    sent again with a new deterministic id; after ``max_attempts`` unanswered attempts the engine
    gives up on the step (see ``Saga.after_give_up``). A failed compensation is retried on the same
    schedule, because compensations must eventually succeed.
    """

    timeout: float = 10.0
    max_attempts: int = 5
    max_wait: float = 120.0

    def wait(self, attempt: int, timeout: float | None = None) -> float:
        base = self.timeout if timeout is None else timeout
        return float(min(base * 2 ** (attempt - 1), self.max_wait))


@dataclass(frozen=True)
class Step(Generic[D]):
    invoke: Action[D]
    compensate: Action[D] | None = None
    pivot: bool = False


@dataclass(frozen=True)
class Invoke:
    """Next: send the command of this action; the saga is then in ``state``."""

    kind: ActionKind
    index: int
    state: SagaState


@dataclass(frozen=True)
class Finish:
    """Next: nothing more to send; the saga ends in ``state``."""

    state: SagaState


Transition = Invoke | Finish


def _action(
    factory: CommandFactory[D],
    on_reply: Mapping[type[Reply], ReplyHook[D]] | None,
    timeout: float | None = None,
) -> Action[D]:
    return Action(factory.__name__, factory, dict(on_reply or {}), timeout)


class Saga(Generic[D]):
    """A saga definition, built step by step:

    ``Saga("place_order", Data).step(authorize, compensate=void).pivot(capture).step(approve)``
    """

    def __init__(self, name: str, data_type: type[D]) -> None:
        self.name = name
        self.data_type = data_type
        self.steps: list[Step[D]] = []
        self.final: Action[D] | None = None

    def step(
        self,
        invoke: CommandFactory[D],
        *,
        compensate: CommandFactory[D] | None = None,
        on_reply: Mapping[type[Reply], ReplyHook[D]] | None = None,
        timeout: float | None = None,
    ) -> Self:
        """Add a step; with ``compensate`` if its effect must be undone when a later step fails."""
        if compensate is not None and self._pivot_index() is not None:
            raise SagaDefinitionError("steps after the pivot cannot be compensated; they must succeed")
        compensation = _action(compensate, None, timeout) if compensate else None
        self.steps.append(Step(_action(invoke, on_reply, timeout), compensation))
        return self

    def pivot(
        self,
        invoke: CommandFactory[D],
        *,
        on_reply: Mapping[type[Reply], ReplyHook[D]] | None = None,
        timeout: float | None = None,
    ) -> Self:
        """Add the pivot: once it succeeds the saga only goes forward."""
        if self._pivot_index() is not None:
            raise SagaDefinitionError("a saga has at most one pivot")
        self.steps.append(Step(_action(invoke, on_reply, timeout), None, pivot=True))
        return self

    def on_compensated(
        self, invoke: CommandFactory[D], *, on_reply: Mapping[type[Reply], ReplyHook[D]] | None = None
    ) -> Self:
        """Send this command after every completed step was compensated (e.g. reject the order)."""
        self.final = _action(invoke, on_reply)
        return self

    # --- the rules -------------------------------------------------------------------------

    def first(self) -> Transition:
        if not self.steps:
            raise SagaDefinitionError(f"saga {self.name} has no steps")
        return Invoke(ActionKind.FORWARD, 0, SagaState.RUNNING)

    def after_reply(self, kind: ActionKind, index: int, succeeded: bool) -> Transition:
        """Return what follows a reply to action (kind, index)."""
        if kind is ActionKind.FORWARD:
            if succeeded:
                if index + 1 < len(self.steps):
                    return Invoke(ActionKind.FORWARD, index + 1, SagaState.RUNNING)
                return Finish(SagaState.COMPLETED)
            if not self.can_compensate_at(index):
                return Finish(SagaState.FAILED)  # past the pivot: an operator must push it forward
            return self.compensation_from(index - 1)
        if kind is ActionKind.COMPENSATION:
            return self.compensation_from(index - 1) if succeeded else Finish(SagaState.FAILED)
        return Finish(SagaState.COMPENSATED if succeeded else SagaState.FAILED)

    def after_give_up(self, kind: ActionKind, index: int) -> Transition:
        """Return what follows when action (kind, index) never answered, however often it was sent.

        Before the pivot the saga compensates, the silent step included: it may have taken effect,
        and compensations are idempotent. The pivot and later steps may have taken effect and cannot
        be undone, and a compensation must not be skipped: those stop the saga for an operator.
        """
        if kind is ActionKind.FORWARD and self.can_compensate_at(index) and index != self._pivot_index():
            return self.compensation_from(index)
        return Finish(SagaState.FAILED)

    @staticmethod
    def retries_failures(kind: ActionKind) -> bool:
        """Whether a failure reply to this kind of action is asked again rather than accepted.

        A forward step's failure is an answer (the saga compensates); a compensation or the final
        command has to succeed in the end, so its failure is retried with backoff.
        """
        return kind is not ActionKind.FORWARD

    def has_compensation(self, kind: ActionKind, index: int) -> bool:
        return kind is ActionKind.FORWARD and self.steps[index].compensate is not None

    def compensation_from(self, index: int) -> Transition:
        """Compensate the steps at ``index`` and below, latest first, then send the final command."""
        for position in range(index, -1, -1):
            if self.steps[position].compensate is not None:
                return Invoke(ActionKind.COMPENSATION, position, SagaState.COMPENSATING)
        if self.final is not None:
            return Invoke(ActionKind.FINAL, 0, SagaState.COMPENSATING)
        return Finish(SagaState.COMPENSATED)

    def can_compensate_at(self, index: int) -> bool:
        """Whether a failure of forward step ``index`` can still be undone (it is not past the pivot)."""
        pivot = self._pivot_index()
        return pivot is None or index <= pivot

    def can_abandon_at(self, index: int) -> bool:
        """Whether an operator may abandon the saga while forward step ``index`` waits for its reply.

        Only before the pivot: once the pivot's command is sent it may take effect at any moment (the
        money is captured), and its reply would then find a saga that compensates what it cannot undo.
        A pivot's own failure reply still compensates (``after_reply``): that is an answer, not a guess.
        """
        pivot = self._pivot_index()
        return pivot is None or index < pivot

    def action(self, kind: ActionKind, index: int) -> Action[D]:
        if kind is ActionKind.FORWARD:
            return self.steps[index].invoke
        if kind is ActionKind.COMPENSATION:
            compensation = self.steps[index].compensate
            if compensation is None:
                raise SagaDefinitionError(f"step {index} of {self.name} has no compensation")
            return compensation
        if self.final is None:
            raise SagaDefinitionError(f"saga {self.name} has no final command")
        return self.final

    def _pivot_index(self) -> int | None:
        return next((i for i, step in enumerate(self.steps) if step.pivot), None)

    # --- data ------------------------------------------------------------------------------

    def load_data(self, raw: dict[str, Any]) -> D:
        """The saga data from its stored JSON (fields it no longer has are ignored)."""
        return msgspec.convert(raw, self.data_type)

    def dump_data(self, data: D) -> dict[str, Any]:
        stored: dict[str, Any] = msgspec.to_builtins(data)
        return stored
