"""Read a saga definition as a specification, as Eventuate Tram's saga unit tests do.

    (given(place_order, data)
        .expect(AuthorizePayment(customer_id="c-1", amount=AMOUNT, currency="EUR"), to=PAYMENTS_COMMANDS)
        .reply(PaymentDeclined(reason="no credit"))
        .expect(RejectOrder(reason="no credit"), to=ORDERS_COMMANDS)
        .reply(OrderRejected())
        .ends(SagaState.COMPENSATED))

It runs the definition's own rules (``Saga.first``, ``after_reply``, ``after_give_up``, the reply hooks)
with no database and no broker, the way the engine applies them; the engine itself, with its
transactions, deadlines and outbox, is tested against PostgreSQL in ``libs/common/tests``.
"""

import copy
from typing import Any, Generic, TypeVar

from saga_common.messaging.message import Command, Reply
from saga_common.sagas.definition import ActionKind, Finish, Invoke, Saga, SagaState, Transition

D = TypeVar("D")


class SagaSpec(Generic[D]):
    """One run of a saga, driven by the replies a test gives it."""

    def __init__(self, saga: Saga[D], data: D, *, max_attempts: int = 5) -> None:
        self.saga, self.data = saga, copy.deepcopy(data)
        self.max_attempts = max_attempts  # the engine's SAGA_STEP_MAX_ATTEMPTS
        self.pending: tuple[ActionKind, int] | None = None
        self.sent: Command | None = None
        self.attempt = 0
        self.state = SagaState.RUNNING
        self._take(saga.first())

    def expect(self, command: Command, *, to: str) -> "SagaSpec[D]":
        """The saga has just sent ``command`` to topic ``to``."""
        assert self.sent is not None, f"the saga sent nothing more; it is {self.state}"
        assert self.sent == command, f"the saga sent {self.sent!r}, not {command!r}"
        assert type(self.sent).topic == to, (
            f"{type(self.sent).__name__} goes to {type(self.sent).topic}, not {to}"
        )
        return self

    def reply(self, reply: Reply) -> "SagaSpec[D]":
        """The participant answers the command just sent with ``reply``."""
        assert self.pending is not None, f"nothing waits for a reply; the saga is {self.state}"
        assert self.sent is not None
        assert type(reply) in type(self.sent).outcomes, f"{type(reply).__name__} cannot answer {self.sent!r}"
        kind, index = self.pending
        if not reply.succeeded and self.saga.retries_failures(kind) and self.attempt < self.max_attempts:
            # a compensation or the final command must succeed: it is asked again, until its attempts
            # run out (then the saga stops FAILED for an operator)
            self.sent = self.saga.action(kind, index).make_command(self.data)
            self.attempt += 1
            return self
        hook = self.saga.action(kind, index).on_reply.get(type(reply))
        if hook is not None:
            hook(self.data, reply)
        self._take(self.saga.after_reply(kind, index, reply.succeeded))
        return self

    def never_answers(self) -> "SagaSpec[D]":
        """The command just sent goes unanswered through every attempt: the saga gives up on it."""
        assert self.pending is not None, f"nothing waits for a reply; it is {self.state}"
        self._take(self.saga.after_give_up(*self.pending))
        return self

    def ends(self, state: SagaState) -> "SagaSpec[D]":
        """The saga has ended in ``state``, sending nothing more."""
        assert (self.state, self.sent) == (state, None), f"the saga is {self.state}, waiting on {self.sent!r}"
        return self

    def on_attempt(self, attempt: int) -> "SagaSpec[D]":
        """The command just sent is its ``attempt``-th (1 is the first)."""
        assert self.attempt == attempt, f"the command is on attempt {self.attempt}, not {attempt}"
        return self

    def is_in(self, state: SagaState) -> "SagaSpec[D]":
        """The saga is in ``state`` (still waiting for the command just sent)."""
        assert self.state == state, f"the saga is {self.state}, not {state}"
        return self

    def _take(self, transition: Transition) -> None:
        if isinstance(transition, Invoke):
            self.pending, self.attempt = (transition.kind, transition.index), 1
            self.sent = self.saga.action(transition.kind, transition.index).make_command(self.data)
        elif isinstance(transition, Finish):
            self.pending, self.sent, self.attempt = None, None, 0
        self.state = transition.state


def given(saga: Saga[Any], data: Any) -> SagaSpec[Any]:
    """Start ``saga`` with ``data``; the spec then says what it sends and how it answers replies."""
    return SagaSpec(saga, data)
