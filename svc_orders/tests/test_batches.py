"""A fetched batch of order commands is one unit of work (``orders.unit_of_work``): the same replies
as one command at a time, in the same few statements whatever its size."""

from decimal import Decimal

import pytest

from orders.handlers import HANDLERS
from orders.models import Order
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.message import Command
from saga_testing.messages import deliver_batch, deliver_each, outbox_messages, statements_of, wrap
from shop_contracts import ApproveOrder, RejectOrder

pytestmark = pytest.mark.django_db


def new_order() -> str:
    order = Order.objects.create(
        customer_id="c-1", currency="EUR", items=[], shipping_address={"country": "DE"}, total=Decimal("1.00")
    )
    return str(order.id)


def commands() -> list[Envelope]:
    first, second = new_order(), new_order()
    steps: list[tuple[str, Command]] = [
        (first, ApproveOrder()),
        (first, ApproveOrder()),  # a repeat: approved already
        (second, RejectOrder(reason="no credit")),
        (second, ApproveOrder()),  # refused: rejected already
        ("not-an-order", ApproveOrder()),  # refused: no such order
    ]
    return [wrap(command, order_id=order, saga_id="s") for order, command in steps]


def outcome(replies: list[Envelope], commands: list[Envelope]) -> list[tuple[str, str, str | None]]:
    status = {str(o.id): o.status for o in Order.objects.all()}
    return [
        (r.type, r.payload.get("reason", "").replace(c.order_id, "<id>"), status.get(c.order_id))
        for r, c in zip(replies, commands, strict=True)
    ]


def test_a_batch_answers_as_one_command_at_a_time_would() -> None:
    each = commands()
    alone = outcome(deliver_each(each, HANDLERS), each)
    batch = commands()
    together = outcome(deliver_batch(batch, HANDLERS), batch)
    assert together == alone
    assert [(t, status) for t, _, status in together] == [
        ("OrderApproved", "APPROVED"),
        ("OrderApproved", "APPROVED"),
        ("OrderRejected", "REJECTED"),
        ("OrderApprovalFailed", "REJECTED"),
        ("OrderApprovalFailed", None),
    ]
    assert len(outbox_messages()) == 10


def test_a_batch_costs_the_same_statements_whatever_its_size() -> None:
    def approvals(count: int) -> list[Envelope]:
        return [wrap(ApproveOrder(), order_id=new_order(), saga_id="s") for _ in range(count)]

    small_batch, large_batch = approvals(2), approvals(40)
    small = statements_of(lambda: deliver_batch(small_batch, HANDLERS))
    large = statements_of(lambda: deliver_batch(large_batch, HANDLERS))
    assert Order.objects.filter(status="APPROVED").count() == 42
    assert large == small <= 10
