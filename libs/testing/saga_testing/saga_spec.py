"""Read a saga definition as a specification, as Eventuate Tram's saga unit tests do.

    (given(place_order, data)
        .expect(AuthorizePayment(customer_id="c-1", amount=AMOUNT, currency="EUR"), to=PAYMENTS_COMMANDS)
        .reply(PaymentDeclined(reason="no credit"))
        .expect(RejectOrder(reason="no credit"), to=ORDERS_COMMANDS)
        .reply(OrderRejected())
        .ends(SagaState.COMPENSATED))

A parallel group sends several commands at once: ``expect`` finds its command among them (or
``expect_all`` names them all), and a reply answers the one waiting command it is an outcome of. A
branch's success that comes after the saga stopped waiting for it is undone: ``expect_late``.

It runs the definition's own rules (``Saga.first``, ``after_reply``, ``after_give_up``, the reply hooks)
with no database and no broker, the way the engine applies them; the engine itself, with its
transactions, deadlines and outbox, is tested against PostgreSQL in ``libs/common/tests``.
"""

import copy
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from saga_common.messaging.message import Command, Reply
from saga_common.sagas.definition import ActionKind, Invoke, Outcome, Saga, SagaState, Transition

D = TypeVar("D")


@dataclass
class Sent:
    """A command the saga waits on."""

    kind: ActionKind
    index: int
    command: Command
    attempt: int = 1


class SagaSpec(Generic[D]):
    """One run of a saga, driven by the replies a test gives it."""

    def __init__(self, saga: Saga[D], data: D, *, max_attempts: int = 5) -> None:
        self.saga, self.data = saga, copy.deepcopy(data)
        self.max_attempts = max_attempts  # the engine's SAGA_STEP_MAX_ATTEMPTS
        self.waiting: list[Sent] = []
        self.progress: dict[int, Outcome] = {}
        self.abandoned: set[int] = set()  # forward steps the saga stopped waiting for, or gave up on
        self.late: list[Command] = []  # compensations sent for successes that came too late
        self.state = SagaState.RUNNING
        self._take(saga.first())

    @property
    def sent(self) -> Command | None:
        """The one command the saga waits on (None: it waits on none)."""
        assert len(self.waiting) <= 1, f"the saga waits on several commands: {self._commands()}"
        return self.waiting[0].command if self.waiting else None

    def expect(self, command: Command, *, to: str) -> "SagaSpec[D]":
        """The saga has just sent ``command`` to topic ``to`` (one of the commands it waits on)."""
        assert self.waiting, f"the saga sent nothing more; it is {self.state}"
        assert command in self._commands(), f"the saga sent {self._commands()!r}, not {command!r}"
        assert type(command).topic == to, f"{type(command).__name__} goes to {type(command).topic}, not {to}"
        return self

    def expect_all(self, *commands: Command) -> "SagaSpec[D]":
        """The saga waits on exactly these commands, sent together (a parallel group)."""
        assert sorted(map(repr, self._commands())) == sorted(map(repr, commands)), (
            f"the saga waits on {self._commands()!r}, not {list(commands)!r}"
        )
        return self

    def reply(self, reply: Reply) -> "SagaSpec[D]":
        """The participant answers the waiting command ``reply`` is an outcome of."""
        sent = self._answered_by(reply)
        if sent is None:
            return self._late(reply)
        if not reply.succeeded and self.saga.retries_failures(sent.kind) and sent.attempt < self.max_attempts:
            # a compensation or the final command must succeed: it is asked again, until its attempts
            # run out (then the saga stops FAILED for an operator)
            sent.command = self.saga.action(sent.kind, sent.index).make_command(self.data)
            sent.attempt += 1
            return self
        hook = self.saga.action(sent.kind, sent.index).on_reply.get(type(reply))
        if hook is not None:
            hook(self.data, reply)
        self.waiting.remove(sent)
        if sent.kind is ActionKind.FORWARD:
            self.progress[sent.index] = Outcome.SUCCEEDED if reply.succeeded else Outcome.REFUSED
        self._take(self.saga.after_reply(sent.kind, sent.index, reply.succeeded, self.progress))
        return self

    def never_answers(self, command_type: type[Command] | None = None) -> "SagaSpec[D]":
        """The command just sent (of ``command_type``, among several) goes unanswered through every
        attempt: the saga gives up on it."""
        candidates = [s for s in self.waiting if command_type is None or type(s.command) is command_type]
        assert len(candidates) == 1, f"name one of the waiting commands: {self._commands()!r}"
        (sent,) = candidates
        self.waiting.remove(sent)
        if sent.kind is ActionKind.FORWARD:
            self.progress[sent.index] = Outcome.UNKNOWN
            self.abandoned.add(sent.index)  # given up on: its success may still come, and is undone
        self._take(self.saga.after_give_up(sent.kind, sent.index, self.progress))
        return self

    def expect_late(self, command: Command) -> "SagaSpec[D]":
        """A success that came after the saga stopped waiting for its step was undone by ``command``."""
        assert command in self.late, f"late successes were undone by {self.late!r}, not {command!r}"
        return self

    def ends(self, state: SagaState) -> "SagaSpec[D]":
        """The saga has ended in ``state``, sending nothing more."""
        assert (self.state, self._commands()) == (state, []), (
            f"the saga is {self.state}, waiting on {self._commands()!r}"
        )
        return self

    def on_attempt(self, attempt: int) -> "SagaSpec[D]":
        """The command just sent is its ``attempt``-th (1 is the first)."""
        (sent,) = self.waiting
        assert sent.attempt == attempt, f"the command is on attempt {sent.attempt}, not {attempt}"
        return self

    def is_in(self, state: SagaState) -> "SagaSpec[D]":
        """The saga is in ``state`` (still waiting for the commands just sent)."""
        assert self.state == state, f"the saga is {self.state}, not {state}"
        return self

    def _answered_by(self, reply: Reply) -> Sent | None:
        answered = [s for s in self.waiting if type(reply) in type(s.command).outcomes]
        assert len(answered) <= 1, f"{type(reply).__name__} answers several waiting commands"
        return answered[0] if answered else None

    def _late(self, reply: Reply) -> "SagaSpec[D]":
        """A reply to a forward step the saga stopped waiting for: a success is compensated again."""
        steps = [i for i in self.abandoned if type(reply) in type(self._command_of(i)).outcomes]
        assert steps, f"nothing waits for {type(reply).__name__}; the saga is {self.state}"
        if reply.succeeded and self.saga.has_compensation(ActionKind.FORWARD, steps[0]):
            self.late.append(self.saga.action(ActionKind.COMPENSATION, steps[0]).make_command(self.data))
        return self

    def _command_of(self, index: int) -> Command:
        return self.saga.action(ActionKind.FORWARD, index).make_command(self.data)

    def _commands(self) -> list[Command]:
        return [s.command for s in self.waiting]

    def _take(self, transition: Transition) -> None:
        if transition.state != SagaState.RUNNING:  # as the engine: it stops waiting for forward steps
            for sent in [s for s in self.waiting if s.kind is ActionKind.FORWARD]:
                self.waiting.remove(sent)
                self.progress[sent.index] = Outcome.UNKNOWN
                self.abandoned.add(sent.index)
        if isinstance(transition, Invoke):
            for index in transition.indexes:
                command = self.saga.action(transition.kind, index).make_command(self.data)
                self.waiting.append(Sent(transition.kind, index, command))
                if transition.kind is ActionKind.FORWARD:
                    self.progress[index] = Outcome.PENDING
        self.state = transition.state


def given(saga: Saga[Any], data: Any) -> SagaSpec[Any]:
    """Start ``saga`` with ``data``; the spec then says what it sends and how it answers replies."""
    return SagaSpec(saga, data)
