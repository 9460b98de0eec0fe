"""A fetched batch is one engine call (``saga_common.sagas.unit_of_work``): the same outcome as handling
its messages one by one, in a handful of statements whatever its size, and nothing at all if it fails."""

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import shop_contracts as contracts
from orchestrator.handlers import HANDLERS, batch_scope
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import handle_batch, handle_once
from saga_common.messaging.message import Message
from saga_common.sagas.models import SagaEvent, SagaInstance, SagaStep
from saga_testing.messages import outbox_messages, wrap

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("on_place_order_v1")]

APPROVE, DECLINE, NO_SHIPPING = "approve", "decline", "no-shipping"
# What each participant answers, by the command, for each kind of order.
ANSWERS: dict[str, dict[str, Message]] = {
    APPROVE: {
        "AuthorizePayment": contracts.PaymentAuthorized(payment_id="p", amount=Decimal("5.00")),
        "ScheduleShipment": contracts.ShipmentScheduled(shipment_id="s"),
        "CapturePayment": contracts.PaymentCaptured(payment_id="p", amount=Decimal("5.00")),
        "ApproveOrder": contracts.OrderApproved(),
    },
    DECLINE: {
        "AuthorizePayment": contracts.PaymentDeclined(reason="no credit"),
        "RejectOrder": contracts.OrderRejected(),
    },
    NO_SHIPPING: {
        "AuthorizePayment": contracts.PaymentAuthorized(payment_id="p", amount=Decimal("5.00")),
        "ScheduleShipment": contracts.ShipmentRejected(reason="not there"),
        "VoidPayment": contracts.PaymentVoided(),
        "RejectOrder": contracts.OrderRejected(),
    },
}


def order_created(order_id: str) -> Envelope:
    event = contracts.OrderCreated(
        customer_id="c-1", total=Decimal("5.00"), currency="EUR", shipping_address={"country": "DE"}
    )
    return wrap(event, order_id=order_id, correlation_id=f"corr-{order_id}")


def answer(command: Envelope, kind: str) -> Envelope:
    return wrap(
        ANSWERS[kind][command.type],
        order_id=command.order_id,
        correlation_id=command.correlation_id,
        saga_id=command.saga_id,
        causation=command,
    )


def in_batch(envelopes: list[Envelope]) -> list[bool]:
    return handle_batch([(e, HANDLERS[type(e.message())]) for e in envelopes], scope=batch_scope)


def one_by_one(envelopes: list[Envelope]) -> list[bool]:
    """As before batches: each message in a transaction and an engine call of its own."""
    return [handle_once(e, HANDLERS[type(e.message())]) for e in envelopes]


def run_orders(kinds: dict[str, str], deliver: Callable[[list[Envelope]], list[bool]]) -> None:
    """Start every order, then answer each command until no saga waits, a round at a time."""
    deliver([order_created(order_id) for order_id in kinds])
    answered: set[str] = set()
    while True:
        pending = [c for c in outbox_messages() if c.order_id in kinds and c.id not in answered]
        if not pending:
            return
        answered.update(c.id for c in pending)
        deliver([answer(c, kinds[c.order_id]) for c in pending])


def outcome(order_ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """Each saga as its sagas, steps, history and commands say, without ids or times."""
    result: dict[str, tuple[Any, ...]] = {}
    commands = defaultdict(list)
    for c in outbox_messages():
        commands[c.order_id].append((c.type, c.payload))
    for order_id in order_ids:
        saga = SagaInstance.objects.get(order_id=order_id)
        result[order_id] = (
            saga.state,
            saga.current_step,
            saga.data,
            bool(saga.trace_parent),
            [
                (
                    s.position,
                    s.name,
                    s.kind,
                    s.status,
                    s.attempts,
                    len(s.command_ids),
                    s.command_type,
                    s.reply_type,
                    s.give_up_after,
                    s.deadline_at is None,
                    s.finished_at is None,
                )
                for s in SagaStep.objects.filter(saga=saga)
            ],
            [(e.event, e.message_type, e.detail) for e in SagaEvent.objects.filter(saga=saga)],
            commands[order_id],
        )
    return result


def test_a_batch_moves_its_sagas_exactly_as_one_message_at_a_time_would() -> None:
    kinds = {f"o-{i}": (APPROVE, DECLINE, NO_SHIPPING)[i % 3] for i in range(9)}
    batched = {f"b-{order_id}": kind for order_id, kind in kinds.items()}
    run_orders(kinds, one_by_one)
    run_orders(batched, in_batch)
    alone, together = outcome(list(kinds)), outcome(list(batched))
    assert list(together.values()) == list(alone.values())
    states = [state for state, *_ in together.values()]
    assert states.count("COMPLETED") == 3
    assert states.count("COMPENSATED") == 6


def test_two_replies_for_one_saga_in_a_batch_see_each_other() -> None:
    """The identity map: the second answer to a step finds it answered by the first, in memory."""
    in_batch([order_created("o-1")])
    (command,) = outbox_messages()
    first, second = answer(command, APPROVE), answer(command, APPROVE)  # two ids, one command
    assert in_batch([first, second]) == [True, True]
    saga = SagaInstance.objects.get(order_id="o-1")
    events = [e.event for e in SagaEvent.objects.filter(saga=saga)]
    assert events.count("ReplyReceived") == 1
    assert events[-1] == "ReplyIgnored"
    assert [c.type for c in outbox_messages()] == ["AuthorizePayment", "ScheduleShipment"]


def test_a_start_and_a_duplicate_start_in_one_batch_make_one_saga() -> None:
    event = order_created("o-1")
    assert in_batch([event, order_created("o-1")]) == [True, True]
    assert SagaInstance.objects.filter(order_id="o-1").count() == 1
    assert [c.type for c in outbox_messages()] == ["AuthorizePayment"]


def statements_for(replies: int) -> int:
    order_ids = [f"n{replies}-{i}" for i in range(replies)]
    in_batch([order_created(order_id) for order_id in order_ids])
    commands = [c for c in outbox_messages() if c.order_id in order_ids]
    with CaptureQueriesContext(connection) as queries:
        in_batch([answer(c, APPROVE) for c in commands])
    assert SagaStep.objects.filter(saga__order_id__in=order_ids, status="SUCCEEDED").count() == replies
    return len(queries)


def test_a_batch_costs_the_same_statements_whatever_its_size() -> None:
    small, large = statements_for(2), statements_for(40)
    # the inbox, the sagas and their steps (read, locked), steps inserted and updated, sagas updated,
    # history, outbox: a handful, and not one more for twenty times the replies
    assert large == small <= 12


def test_a_failing_batch_leaves_nothing_behind() -> None:
    in_batch([order_created("o-1")])
    (command,) = outbox_messages()

    def failing(envelope: Envelope) -> None:
        raise RuntimeError("a handler failed")

    start, reply = order_created("o-2"), answer(command, APPROVE)
    work = [(reply, HANDLERS[type(reply.message())]), (start, HANDLERS[type(start.message())])]
    with pytest.raises(RuntimeError):
        handle_batch([*work, (order_created("o-3"), failing)], scope=batch_scope)
    assert SagaInstance.objects.filter(order_id="o-2").count() == 0
    assert [s.status for s in SagaStep.objects.filter(saga__order_id="o-1")] == ["STARTED"]
    assert [c.type for c in outbox_messages()] == ["AuthorizePayment"]
