"""Commands the orders service answers (orders.commands); refusals become named replies
(``saga_common.messaging.participant``)."""

from orders import services
from saga_common.messaging.message import Reply
from saga_common.messaging.participant import command_handlers
from shop_contracts import (
    ApproveOrder,
    ConfirmOrderCancellation,
    OrderApproved,
    OrderCancellationRefused,
    OrderCancelled,
    OrderRejected,
    RefuseOrderCancellation,
    RejectOrder,
)


def approve_order(command: ApproveOrder, order_id: str) -> Reply:
    services.order_approve(order_id=order_id)
    return OrderApproved()


def reject_order(command: RejectOrder, order_id: str) -> Reply:
    services.order_reject(order_id=order_id, reason=command.reason)
    return OrderRejected()


def confirm_cancellation(command: ConfirmOrderCancellation, order_id: str) -> Reply:
    services.order_cancellation_confirm(order_id=order_id)
    return OrderCancelled()


def refuse_cancellation(command: RefuseOrderCancellation, order_id: str) -> Reply:
    services.order_cancellation_refuse(order_id=order_id, reason=command.reason)
    return OrderCancellationRefused()


HANDLERS = command_handlers(
    {
        ApproveOrder: approve_order,
        RejectOrder: reject_order,
        ConfirmOrderCancellation: confirm_cancellation,
        RefuseOrderCancellation: refuse_cancellation,
    }
)
