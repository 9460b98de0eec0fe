"""ApproveOrder and RejectOrder, as the orchestrator sends them."""

import pytest
from django.db import transaction

from orders import handlers
from orders.models import Order, OrderStatus
from saga_common.api import DomainError
from saga_common.contracts import ApproveOrder, RejectOrder
from saga_common.envelope import Envelope
from saga_common.inbox import handle_once
from saga_common.testing.messages import outbox_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def order() -> Order:
    return Order.objects.create(
        customer_id="c-1", currency="EUR", total="10.00", items=[], shipping_address={}
    )


def command(order: Order, message: ApproveOrder | RejectOrder) -> Envelope:
    return Envelope.wrap(message, order_id=str(order.id), correlation_id="c", saga_id="saga-1")


def test_approve_order_approves_and_replies(order: Order) -> None:
    sent = command(order, ApproveOrder())
    handle_once(sent, handlers.approve_order)
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    (reply,) = outbox_messages()
    assert (reply.type, reply.causation_id, reply.saga_id) == ("OrderApproved", sent.id, "saga-1")


def test_reject_order_records_the_reason(order: Order) -> None:
    handle_once(command(order, RejectOrder(reason="customer has no account")), handlers.reject_order)
    order.refresh_from_db()
    assert (order.status, order.rejection_reason) == (OrderStatus.REJECTED, "customer has no account")
    assert [r.type for r in outbox_messages()] == ["OrderRejected"]


def test_redelivered_command_has_no_second_effect(order: Order) -> None:
    sent = command(order, ApproveOrder())
    assert handle_once(sent, handlers.approve_order)
    assert not handle_once(sent, handlers.approve_order)
    assert len(outbox_messages()) == 1


def test_a_rejected_order_cannot_be_approved(order: Order) -> None:
    handle_once(command(order, RejectOrder(reason="r")), handlers.reject_order)
    with pytest.raises(DomainError), transaction.atomic():
        handlers.approve_order(command(order, ApproveOrder()))
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert [r.type for r in outbox_messages()] == ["OrderRejected"]
