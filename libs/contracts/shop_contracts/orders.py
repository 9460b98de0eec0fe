"""What the orders service says and is told: OrderCreated starts a saga; the saga ends it by
ApproveOrder or RejectOrder."""

from typing import Annotated

from msgspec import Meta

from saga_common.messaging.message import Command, Event, Refusal, Reply
from shop_contracts.fields import Address, Amount, CurrencyCode, Identifier
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
