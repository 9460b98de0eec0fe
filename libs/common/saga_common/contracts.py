"""Every message of the system, in one place (docs/design.md, "Kafka topics and messages").

Commands are imperative, events past tense, replies name the outcome. The sender builds these
classes and the receiver parses them, so both sides are tested against the same definition.
Topics here are base names; ``saga_common.kafka.topic_name`` adds the deployment's prefix.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from saga_common.serialization import Bounded, Money, Text, check_rules

ORDERS_EVENTS = "orders.events"
ORDERS_COMMANDS = "orders.commands"
PAYMENTS_COMMANDS = "payments.commands"
SHIPPING_COMMANDS = "shipping.commands"
ORCHESTRATOR_REPLIES = "orchestrator.replies"
ALL_TOPICS = (ORDERS_EVENTS, ORDERS_COMMANDS, PAYMENTS_COMMANDS, SHIPPING_COMMANDS, ORCHESTRATOR_REPLIES)

_REGISTRY: dict[str, type["Message"]] = {}

# The rules every message is held to, whoever built it: the REST API's bounds, so a message put on a
# topic by hand can do no more than a request could (see saga_common.serialization.Rule).
Identifier = Annotated[str, Text(max_length=64)]
Amount = Annotated[Decimal, Money()]
CurrencyCode = Annotated[str, Text(max_length=3, min_length=3, pattern=r"[A-Z]{3}")]
CountryCode = Annotated[str, Text(max_length=2, min_length=2, pattern=r"[A-Z]{2}")]
Reason = Annotated[str, Text(max_length=500)]
Address = Annotated[dict[str, Any], Bounded(max_items=10)]
Items = Annotated[list[Any], Bounded(max_items=100)]


class Message:
    """Base of all contracts; subclasses register themselves by class name."""

    topic: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "topic", None) and cls.__name__ not in ("Command", "Event", "Reply", "Refusal"):
            _REGISTRY[cls.__name__] = cls

    def __post_init__(self) -> None:
        check_rules(self)  # PayloadError: the receiver dead-letters the message with the reason

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


class Event(Message):
    """Something that happened in the sender's domain."""


class Reply(Message):
    """A participant's answer to a command; ``succeeded`` tells the saga which way to go."""

    topic = ORCHESTRATOR_REPLIES
    succeeded: ClassVar[bool] = True


@dataclass(frozen=True)
class Refusal(Reply):
    """A participant's 'no', with the reason: a certain answer, never retried as a fault."""

    succeeded = False
    reason: Reason


class Command(Message):
    """An instruction to one participant; ``outcomes`` are the replies it may answer with.

    ``refusal`` is the reply a participant sends when its domain refuses the command (a
    ``DomainError``; see ``saga_common.participant``); None for a command that cannot be refused.
    """

    outcomes: ClassVar[tuple[type[Reply], ...]]
    refusal: ClassVar[type[Refusal] | None] = None


def message_class(type_name: str) -> type[Message]:
    """Return the contract class for an envelope ``type``; KeyError if unknown."""
    return _REGISTRY[type_name]


def reply_classes() -> list[type[Reply]]:
    return [cls for cls in _REGISTRY.values() if issubclass(cls, Reply)]


# --- orders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderCreated(Event):
    topic = ORDERS_EVENTS
    customer_id: Identifier
    total: Amount
    currency: CurrencyCode
    items: Items
    shipping_address: Address


@dataclass(frozen=True)
class OrderApproved(Reply):
    pass


@dataclass(frozen=True)
class OrderApprovalFailed(Refusal):
    pass


@dataclass(frozen=True)
class OrderRejected(Reply):
    pass


@dataclass(frozen=True)
class OrderRejectionFailed(Refusal):
    pass


@dataclass(frozen=True)
class ApproveOrder(Command):
    topic = ORDERS_COMMANDS
    outcomes = (OrderApproved, OrderApprovalFailed)
    refusal = OrderApprovalFailed


@dataclass(frozen=True)
class RejectOrder(Command):
    topic = ORDERS_COMMANDS
    outcomes = (OrderRejected, OrderRejectionFailed)
    refusal = OrderRejectionFailed
    reason: Reason


# --- payments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentAuthorized(Reply):
    payment_id: Identifier
    amount: Amount


@dataclass(frozen=True)
class PaymentDeclined(Refusal):
    pass


@dataclass(frozen=True)
class PaymentVoided(Reply):
    pass


@dataclass(frozen=True)
class PaymentVoidFailed(Refusal):
    pass


@dataclass(frozen=True)
class PaymentCaptured(Reply):
    payment_id: Identifier
    amount: Amount


@dataclass(frozen=True)
class PaymentCaptureFailed(Refusal):
    pass


@dataclass(frozen=True)
class PaymentRefunded(Reply):
    pass


@dataclass(frozen=True)
class PaymentRefundFailed(Refusal):
    pass


@dataclass(frozen=True)
class AuthorizePayment(Command):
    topic = PAYMENTS_COMMANDS
    outcomes = (PaymentAuthorized, PaymentDeclined)
    refusal = PaymentDeclined
    customer_id: Identifier
    amount: Amount
    currency: CurrencyCode


@dataclass(frozen=True)
class VoidPayment(Command):
    """Release the order's authorization. It carries the authorization's terms so that a void that
    arrives before its authorization can record a VOIDED payment, which the late authorization then
    finds (and declines) instead of holding money for a saga that gave up."""

    topic = PAYMENTS_COMMANDS
    outcomes = (PaymentVoided, PaymentVoidFailed)
    refusal = PaymentVoidFailed
    # Empty and 0.00 only for voids sent before these fields existed (they record no tombstone terms).
    customer_id: Annotated[str, Text(max_length=64, min_length=0)] = ""
    amount: Annotated[Decimal, Money(allow_minimum=True)] = Decimal("0.00")
    currency: Annotated[str, Text(max_length=3, min_length=0, pattern=r"([A-Z]{3})?")] = ""


@dataclass(frozen=True)
class CapturePayment(Command):
    topic = PAYMENTS_COMMANDS
    outcomes = (PaymentCaptured, PaymentCaptureFailed)
    refusal = PaymentCaptureFailed


@dataclass(frozen=True)
class RefundPayment(Command):
    topic = PAYMENTS_COMMANDS
    outcomes = (PaymentRefunded, PaymentRefundFailed)
    refusal = PaymentRefundFailed


# --- shipping ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentScheduled(Reply):
    shipment_id: Identifier


@dataclass(frozen=True)
class ShipmentRejected(Refusal):
    pass


@dataclass(frozen=True)
class ShipmentCancelled(Reply):
    pass


@dataclass(frozen=True)
class ScheduleShipment(Command):
    topic = SHIPPING_COMMANDS
    outcomes = (ShipmentScheduled, ShipmentRejected)
    refusal = ShipmentRejected
    country: CountryCode
    address: Address
    # whose shipment it is, so customers can see their own (empty: sent before the field existed)
    customer_id: Annotated[str, Text(max_length=64, min_length=0)] = ""


@dataclass(frozen=True)
class CancelShipment(Command):
    """Cancel the order's shipment; before any was scheduled it records a CANCELLED one, so a late
    ScheduleShipment is rejected rather than shipping an order whose saga gave up."""

    topic = SHIPPING_COMMANDS
    outcomes = (ShipmentCancelled,)  # cancelling cannot be refused: no refusal reply
    country: Annotated[str, Text(max_length=2, min_length=0, pattern=r"([A-Z]{2})?")] = ""
