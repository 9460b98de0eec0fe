"""Saga definitions: a fluent description of the steps and the pure rules for what comes next.

A step's ``invoke`` (and ``compensate``) is a pure function ``data -> Command``; ``on_reply`` hooks
``(data, reply) -> None`` copy what a reply tells into the saga data. Steps run one after the other,
or several at once (``parallel``), joined before the next. Nothing here touches a database or a
broker, so a definition can be tested as a specification.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

import msgspec

from saga_common.messaging.message import Command, Reply
from saga_common.sagas.transitions import (
    ActionKind,
    Finish,
    Invoke,
    Outcome,
    Progress,
    SagaState,
    Transition,
    Wait,
)

__all__ = [
    "Action",
    "ActionKind",
    "Branch",
    "Finish",
    "Invoke",
    "Outcome",
    "Progress",
    "RetryPolicy",
    "Saga",
    "SagaDefinitionError",
    "SagaState",
    "Step",
    "Transition",
    "Wait",
    "branch",
]

D = TypeVar("D")
CommandFactory = Callable[[D], Command]
ReplyHook = Callable[[D, Any], None]


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
    group: int = 0  # steps of one group are sent together and joined (a parallel group); else one each


@dataclass(frozen=True)
class Branch(Generic[D]):
    """One branch of a parallel group: ``Saga.parallel(branch(authorize, compensate=void), ...)``."""

    invoke: CommandFactory[D]
    compensate: CommandFactory[D] | None = None
    on_reply: Mapping[type[Reply], ReplyHook[D]] | None = None
    timeout: float | None = None


def branch(
    invoke: CommandFactory[D],
    *,
    compensate: CommandFactory[D] | None = None,
    on_reply: Mapping[type[Reply], ReplyHook[D]] | None = None,
    timeout: float | None = None,
) -> Branch[D]:
    return Branch(invoke, compensate, on_reply, timeout)


def _action(
    factory: CommandFactory[D],
    on_reply: Mapping[type[Reply], ReplyHook[D]] | None,
    timeout: float | None = None,
) -> Action[D]:
    return Action(factory.__name__, factory, dict(on_reply or {}), timeout)


class Saga(Generic[D]):
    """A saga definition, built step by step:

    ``Saga("place_order", Data).step(authorize, compensate=void).pivot(capture).step(approve)``

    ``version`` numbers the definition: a change to its steps is a new version, registered beside
    the old one until no saga runs the old one any more (docs/operations.md, "Saga versions").
    """

    def __init__(self, name: str, data_type: type[D], *, version: int = 1) -> None:
        if version < 1:
            raise SagaDefinitionError(f"saga {name}: versions count from 1, not {version}")
        self.name = name
        self.data_type = data_type
        self.version = version
        self.steps: list[Step[D]] = []
        self.final: Action[D] | None = None

    def __repr__(self) -> str:
        return f"<Saga {self.name} v{self.version}>"

    def step(
        self,
        invoke: CommandFactory[D],
        *,
        compensate: CommandFactory[D] | None = None,
        on_reply: Mapping[type[Reply], ReplyHook[D]] | None = None,
        timeout: float | None = None,
    ) -> Self:
        """Add a step; with ``compensate`` if its effect must be undone when a later step fails."""
        return self.parallel(Branch(invoke, compensate, on_reply, timeout))

    def parallel(self, *branches: "Branch[D] | CommandFactory[D]") -> Self:
        """Add steps that are sent together, in one transaction; the saga goes on once every one
        succeeded. One refused (or given up on) compensates every branch that succeeded or may yet,
        including a success that arrives later. Only before the pivot: past it, every step must
        succeed, and an operator pushes a failed one forward, one at a time."""
        if not branches:
            raise SagaDefinitionError("a parallel group needs at least one step")
        made = [b if isinstance(b, Branch) else Branch(b) for b in branches]
        if self.pivot_index() is not None:
            if any(b.compensate is not None for b in made):
                raise SagaDefinitionError("steps after the pivot cannot be compensated; they must succeed")
            if len(made) > 1:
                raise SagaDefinitionError("parallel steps come before the pivot")
        group = self.steps[-1].group + 1 if self.steps else 0
        for b in made:
            compensation = _action(b.compensate, None, b.timeout) if b.compensate else None
            self.steps.append(Step(_action(b.invoke, b.on_reply, b.timeout), compensation, group=group))
        return self

    def pivot(
        self,
        invoke: CommandFactory[D],
        *,
        on_reply: Mapping[type[Reply], ReplyHook[D]] | None = None,
        timeout: float | None = None,
    ) -> Self:
        """Add the pivot: once it succeeds the saga only goes forward. It is a step of its own, never
        a branch of a parallel group."""
        if self.pivot_index() is not None:
            raise SagaDefinitionError("a saga has at most one pivot")
        group = self.steps[-1].group + 1 if self.steps else 0
        self.steps.append(Step(_action(invoke, on_reply, timeout), None, pivot=True, group=group))
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
        return Invoke(ActionKind.FORWARD, self.group_at(0), SagaState.RUNNING)

    def after_reply(
        self, kind: ActionKind, index: int, succeeded: bool, progress: Progress | None = None
    ) -> Transition:
        """Return what follows a reply to action (kind, index), the forward steps being at ``progress``."""
        progress = progress or {}
        if kind is ActionKind.FORWARD:
            group = self.group_at(index)
            if succeeded:
                if any(progress.get(i) is Outcome.PENDING for i in group if i != index):
                    return Wait()  # join: the other branches are still to answer
                if group[-1] + 1 < len(self.steps):
                    return Invoke(ActionKind.FORWARD, self.group_at(group[-1] + 1), SagaState.RUNNING)
                return Finish(SagaState.COMPLETED)
            if not self.can_compensate_at(index):
                return Finish(SagaState.FAILED)  # past the pivot: an operator must push it forward
            return self.compensation_from(group[-1], {**progress, index: Outcome.REFUSED})
        if kind is ActionKind.COMPENSATION:
            return self.compensation_from(index - 1, progress) if succeeded else Finish(SagaState.FAILED)
        return Finish(SagaState.COMPENSATED if succeeded else SagaState.FAILED)

    def after_give_up(self, kind: ActionKind, index: int, progress: Progress | None = None) -> Transition:
        """Return what follows when action (kind, index) never answered, however often it was sent.

        Before the pivot the saga compensates, the silent step included: it may have taken effect,
        and compensations are idempotent. The pivot and later steps may have taken effect and cannot
        be undone, and a compensation must not be skipped: those stop the saga for an operator.
        """
        if kind is ActionKind.FORWARD and self.can_compensate_at(index) and index != self.pivot_index():
            return self.compensation_from(
                self.group_at(index)[-1], {**(progress or {}), index: Outcome.UNKNOWN}
            )
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

    def compensation_from(self, index: int, progress: Progress | None = None) -> Transition:
        """Compensate the steps at ``index`` and below that may have taken effect (all but the
        refused), latest first, then send the final command."""
        progress = progress or {}
        for position in range(index, -1, -1):
            if self.steps[position].compensate is not None and progress.get(position) is not Outcome.REFUSED:
                return Invoke(ActionKind.COMPENSATION, (position,), SagaState.COMPENSATING)
        if self.final is not None:
            return Invoke(ActionKind.FINAL, (0,), SagaState.COMPENSATING)
        return Finish(SagaState.COMPENSATED)

    def group_at(self, index: int) -> tuple[int, ...]:
        """The indexes of the steps sent with step ``index`` (itself alone unless it is a branch)."""
        group = self.steps[index].group
        return tuple(i for i, step in enumerate(self.steps) if step.group == group)

    def can_compensate_at(self, index: int) -> bool:
        """Whether a failure of forward step ``index`` can still be undone (it is not past the pivot)."""
        pivot = self.pivot_index()
        return pivot is None or index <= pivot

    def can_abandon_at(self, index: int) -> bool:
        """Whether an operator may abandon the saga while forward step ``index`` waits for its reply.

        Only before the pivot: once the pivot's command is sent it may take effect at any moment (the
        money is captured), and its reply would then find a saga that compensates what it cannot undo.
        A pivot's own failure reply still compensates (``after_reply``): that is an answer, not a guess.
        """
        pivot = self.pivot_index()
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

    def pivot_index(self) -> int | None:
        return next((i for i, step in enumerate(self.steps) if step.pivot), None)

    # --- data ------------------------------------------------------------------------------

    def load_data(self, raw: dict[str, Any]) -> D:
        """The saga data from its stored JSON (fields it no longer has are ignored)."""
        return msgspec.convert(raw, self.data_type)

    def dump_data(self, data: D) -> dict[str, Any]:
        stored: dict[str, Any] = msgspec.to_builtins(data)
        return stored
