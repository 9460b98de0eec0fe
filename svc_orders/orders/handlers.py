"""Commands the orders service answers (orders.commands); refusals become named replies
(``saga_common.participant``)."""

from orders import services
from saga_common.contracts import ApproveOrder, OrderApproved, OrderRejected, RejectOrder, Reply
from saga_common.participant import command_handlers


def approve_order(command: ApproveOrder, order_id: str) -> Reply:
    services.order_approve(order_id=order_id)
    return OrderApproved()


def reject_order(command: RejectOrder, order_id: str) -> Reply:
    services.order_reject(order_id=order_id, reason=command.reason)
    return OrderRejected()


HANDLERS = command_handlers({ApproveOrder: approve_order, RejectOrder: reject_order})
