"""Commands the orders service answers (orders.commands), each handled once via the inbox."""

from orders import services
from saga_common.contracts import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from saga_common.envelope import Envelope
from saga_common.inbox import HandlerRegistry
from saga_common.participant import reply


def approve_order(command: Envelope) -> None:
    services.order_approve(order_id=command.order_id)
    reply(command, OrderApproved())


def reject_order(command: Envelope) -> None:
    rejection = command.message_as(RejectOrder)
    services.order_reject(order_id=command.order_id, reason=rejection.reason)
    reply(command, OrderRejected())


HANDLERS: HandlerRegistry = {ApproveOrder: approve_order, RejectOrder: reject_order}
