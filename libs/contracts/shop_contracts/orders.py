"""What the orders service says and is told: OrderCreated starts a PlaceOrder saga, which ends it by
ApproveOrder or RejectOrder; OrderCancellationRequested starts a CancelOrder saga, which ends it by
ConfirmOrderCancellation or RefuseOrderCancellation."""

from typing import Annotated

from msgspec import Meta

from saga_common.messaging.message import Command, Event, Refusal, Reply
from shop_contracts.fields import Address, Amount, CountryCode, CurrencyCode, Identifier
from shop_contracts.topics import ORCHESTRATOR_REPLIES, ORDERS, ORDERS_COMMANDS, ORDERS_EVENTS


class OrderCreated(Event, frozen=True, kw_only=True):
    topic = ORDERS_EVENTS
    namespace = ORDERS
    customer_id: Identifier
    total: Amount
    currency: CurrencyCode
    shipping_address: Address


class OrderApproved(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = ORDERS


class OrderApprovalFailed(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = ORDERS


class OrderRejected(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = ORDERS


class OrderRejectionFailed(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = ORDERS


class ApproveOrder(Command, frozen=True, kw_only=True):
    topic = ORDERS_COMMANDS
    namespace = ORDERS
    outcomes = (OrderApproved, OrderApprovalFailed)
    refusal = OrderApprovalFailed


class RejectOrder(Command, frozen=True, kw_only=True):
    topic = ORDERS_COMMANDS
    namespace = ORDERS
    outcomes = (OrderRejected, OrderRejectionFailed)
    refusal = OrderRejectionFailed
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


class OrderCancellationRequested(Event, frozen=True, kw_only=True):
    """The customer (or an operator) asked to cancel an APPROVED order, now CANCELLING."""

    topic = ORDERS_EVENTS
    namespace = ORDERS
    customer_id: Identifier
    total: Amount
    currency: CurrencyCode
    country: CountryCode  # the shipment's, for CancelShipment
    reason: Annotated[str, Meta(max_length=200)] = ""


class OrderCancelled(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = ORDERS


class OrderCancellationFailed(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = ORDERS


class OrderCancellationRefused(Reply, frozen=True, kw_only=True):
    """The order is APPROVED again, with the reason its cancellation was refused."""

    topic = ORCHESTRATOR_REPLIES
    namespace = ORDERS


class OrderCancellationRefusalFailed(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = ORDERS


class ConfirmOrderCancellation(Command, frozen=True, kw_only=True):
    """The CancelOrder saga's last step: the shipment is cancelled and the money refunded."""

    topic = ORDERS_COMMANDS
    namespace = ORDERS
    outcomes = (OrderCancelled, OrderCancellationFailed)
    refusal = OrderCancellationFailed


class RefuseOrderCancellation(Command, frozen=True, kw_only=True):
    """The cancellation cannot happen (the shipment went out): the order is APPROVED again."""

    topic = ORDERS_COMMANDS
    namespace = ORDERS
    outcomes = (OrderCancellationRefused, OrderCancellationRefusalFailed)
    refusal = OrderCancellationRefusalFailed
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
