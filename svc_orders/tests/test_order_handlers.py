"""ApproveOrder and RejectOrder, as the orchestrator sends them."""

import pytest

from orders import handlers
from orders.models import Order, OrderStatus
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import handle_once
from saga_testing.messages import outbox_messages, wrap
from shop_contracts import ApproveOrder, RejectOrder

pytestmark = pytest.mark.django_db
APPROVE, REJECT = handlers.HANDLERS[ApproveOrder], handlers.HANDLERS[RejectOrder]


@pytest.fixture
def order() -> Order:
    return Order.objects.create(
        customer_id="c-1", currency="EUR", total="10.00", items=[], shipping_address={}
    )


def command(order: Order, message: ApproveOrder | RejectOrder) -> Envelope:
    return wrap(message, order_id=str(order.id), correlation_id="c", saga_id="saga-1")


def test_approve_order_approves_and_replies(order: Order) -> None:
    sent = command(order, ApproveOrder())
    handle_once(sent, APPROVE)
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    (reply,) = outbox_messages()
    assert (reply.type, reply.causation_id, reply.saga_id) == ("OrderApproved", sent.id, "saga-1")


def test_reject_order_records_the_reason(order: Order) -> None:
    handle_once(command(order, RejectOrder(reason="customer has no account")), REJECT)
    order.refresh_from_db()
    assert (order.status, order.rejection_reason) == (OrderStatus.REJECTED, "customer has no account")
    assert [r.type for r in outbox_messages()] == ["OrderRejected"]


def test_redelivered_command_has_no_second_effect(order: Order) -> None:
    sent = command(order, ApproveOrder())
    assert handle_once(sent, APPROVE)
    assert not handle_once(sent, APPROVE)
    assert len(outbox_messages()) == 1


def test_a_rejected_order_cannot_be_approved_and_says_so_in_a_reply(order: Order) -> None:
    # given a rejected order
    handle_once(command(order, RejectOrder(reason="r")), REJECT)
    # when it is told to approve: a refusal, answered once (not an error retried into the DLQ)
    approve = command(order, ApproveOrder())
    assert handle_once(approve, APPROVE)
    # then it stays rejected and the orchestrator hears why
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    replies = outbox_messages()
    assert [r.type for r in replies] == ["OrderRejected", "OrderApprovalFailed"]
    assert replies[-1].causation_id == approve.id
    assert "REJECTED and cannot be approved" in replies[-1].payload["reason"]


def test_an_approved_order_cannot_be_rejected_and_says_so_in_a_reply(order: Order) -> None:
    handle_once(command(order, ApproveOrder()), APPROVE)
    handle_once(command(order, RejectOrder(reason="r")), REJECT)
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    assert [r.type for r in outbox_messages()] == ["OrderApproved", "OrderRejectionFailed"]


@pytest.mark.parametrize("order_id", ["3f1e0c4a-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "not-a-uuid"])
def test_a_command_about_an_unknown_order_is_refused_with_a_reply(order_id: str) -> None:
    sent = wrap(ApproveOrder(), order_id=order_id, correlation_id="c", saga_id="saga-1")
    handle_once(sent, APPROVE)
    (reply,) = outbox_messages()
    assert (reply.type, reply.payload) == ("OrderApprovalFailed", {"reason": f"no order {order_id}"})
