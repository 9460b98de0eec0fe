"""Every message of the system, in one place (DESIGN.md, "Kafka topics and messages").

Commands are imperative, events past tense, replies name the outcome. The sender builds these
classes and the receiver parses them, so both sides are tested against the same definition.
Topics here are base names; ``saga_common.kafka.topic_name`` adds the deployment's prefix.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

ORDERS_EVENTS = "orders.events"
ORDERS_COMMANDS = "orders.commands"
PAYMENTS_COMMANDS = "payments.commands"
SHIPPING_COMMANDS = "shipping.commands"
ORCHESTRATOR_REPLIES = "orchestrator.replies"
ALL_TOPICS = (ORDERS_EVENTS, ORDERS_COMMANDS, PAYMENTS_COMMANDS, SHIPPING_COMMANDS, ORCHESTRATOR_REPLIES)

_REGISTRY: dict[str, type["Message"]] = {}


class Message:
    """Base of all contracts; subclasses register themselves by class name."""

    topic: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "topic", None) and cls.__name__ not in ("Command", "Event", "Reply"):
            _REGISTRY[cls.__name__] = cls

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


class Event(Message):
    """Something that happened in the sender's domain."""


class Reply(Message):
    """A participant's answer to a command; ``succeeded`` tells the saga which way to go."""

    topic = ORCHESTRATOR_REPLIES
    succeeded: ClassVar[bool] = True


class Command(Message):
    """An instruction to one participant; ``outcomes`` are the replies it may answer with."""

    outcomes: ClassVar[tuple[type[Reply], ...]]


def message_class(type_name: str) -> type[Message]:
    """Return the contract class for an envelope ``type``; KeyError if unknown."""
    return _REGISTRY[type_name]


def reply_classes() -> list[type[Reply]]:
    return [cls for cls in _REGISTRY.values() if issubclass(cls, Reply)]


# --- orders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderCreated(Event):
    topic = ORDERS_EVENTS
    customer_id: str
    total: Decimal
    currency: str
    items: list[Any]
    shipping_address: dict[str, Any]


@dataclass(frozen=True)
class OrderApproved(Reply):
    pass


@dataclass(frozen=True)
class OrderRejected(Reply):
    pass


@dataclass(frozen=True)
class ApproveOrder(Command):
    topic = ORDERS_COMMANDS
    outcomes = (OrderApproved,)


@dataclass(frozen=True)
class RejectOrder(Command):
    topic = ORDERS_COMMANDS
    outcomes = (OrderRejected,)
    reason: str


# --- payments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentAuthorized(Reply):
    payment_id: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentDeclined(Reply):
    succeeded = False
    reason: str


@dataclass(frozen=True)
class PaymentVoided(Reply):
    pass


@dataclass(frozen=True)
class PaymentCaptured(Reply):
    payment_id: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentCaptureFailed(Reply):
    succeeded = False
    reason: str


@dataclass(frozen=True)
class PaymentRefunded(Reply):
    pass


@dataclass(frozen=True)
class PaymentRefundFailed(Reply):
    succeeded = False
    reason: str


@dataclass(frozen=True)
class AuthorizePayment(Command):
    topic = PAYMENTS_COMMANDS
    outcomes = (PaymentAuthorized, PaymentDeclined)
    customer_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class VoidPayment(Command):
    """Release the order's authorization. It carries the authorization's terms so that a void that
    arrives before its authorization can record a VOIDED payment, which the late authorization then
    finds (and declines) instead of holding money for a saga that gave up."""

    topic = PAYMENTS_COMMANDS
    outcomes = (PaymentVoided,)
    customer_id: str = ""
    amount: Decimal = Decimal("0.00")
    currency: str = ""


@dataclass(frozen=True)
class CapturePayment(Command):
    topic = PAYMENTS_COMMANDS
    outcomes = (PaymentCaptured, PaymentCaptureFailed)


@dataclass(frozen=True)
class RefundPayment(Command):
    topic = PAYMENTS_COMMANDS
    outcomes = (PaymentRefunded, PaymentRefundFailed)


# --- shipping ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentScheduled(Reply):
    shipment_id: str


@dataclass(frozen=True)
class ShipmentRejected(Reply):
    succeeded = False
    reason: str


@dataclass(frozen=True)
class ShipmentCancelled(Reply):
    pass


@dataclass(frozen=True)
class ScheduleShipment(Command):
    topic = SHIPPING_COMMANDS
    outcomes = (ShipmentScheduled, ShipmentRejected)
    country: str
    address: dict[str, Any]
    customer_id: str = ""  # whose shipment it is, so customers can see their own


@dataclass(frozen=True)
class CancelShipment(Command):
    """Cancel the order's shipment; before any was scheduled it records a CANCELLED one, so a late
    ScheduleShipment is rejected rather than shipping an order whose saga gave up."""

    topic = SHIPPING_COMMANDS
    outcomes = (ShipmentCancelled,)
    country: str = ""
