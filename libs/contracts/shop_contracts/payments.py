"""What the payments service is told (authorize, void, capture, refund) and answers."""

from decimal import Decimal

from saga_common.messaging.message import Command, Refusal, Reply
from shop_contracts.fields import (
    Amount,
    CurrencyCode,
    Identifier,
    OptionalAmount,
    OptionalCurrencyCode,
    OptionalIdentifier,
)
from shop_contracts.topics import ORCHESTRATOR_REPLIES, PAYMENTS, PAYMENTS_COMMANDS


class PaymentAuthorized(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = PAYMENTS
    payment_id: Identifier
    amount: Amount


class PaymentDeclined(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = PAYMENTS


class PaymentVoided(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = PAYMENTS


class PaymentVoidFailed(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = PAYMENTS


class PaymentCaptured(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = PAYMENTS
    payment_id: Identifier
    amount: Amount


class PaymentCaptureFailed(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = PAYMENTS


class PaymentRefunded(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = PAYMENTS
    payment_id: Identifier
    amount: Amount


class PaymentRefundFailed(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = PAYMENTS


class AuthorizePayment(Command, frozen=True, kw_only=True):
    topic = PAYMENTS_COMMANDS
    namespace = PAYMENTS
    outcomes = (PaymentAuthorized, PaymentDeclined)
    refusal = PaymentDeclined
    customer_id: Identifier
    amount: Amount
    currency: CurrencyCode


class VoidPayment(Command, frozen=True, kw_only=True):
    """Release the order's authorization. It carries the authorization's terms so that a void that
    arrives before its authorization can record a VOIDED payment, which the late authorization then
    finds (and declines) instead of holding money for a saga that gave up."""

    topic = PAYMENTS_COMMANDS
    namespace = PAYMENTS
    outcomes = (PaymentVoided, PaymentVoidFailed)
    refusal = PaymentVoidFailed
    customer_id: OptionalIdentifier = ""
    amount: OptionalAmount = Decimal("0.00")
    currency: OptionalCurrencyCode = ""


class CapturePayment(Command, frozen=True, kw_only=True):
    """The PlaceOrder saga's pivot: once the money is captured, the saga only goes forward."""

    topic = PAYMENTS_COMMANDS
    namespace = PAYMENTS
    outcomes = (PaymentCaptured, PaymentCaptureFailed)
    refusal = PaymentCaptureFailed


class RefundPayment(Command, frozen=True, kw_only=True):
    """Give a captured payment's money back: the account's available credit grows by its amount. The
    CancelOrder saga sends it only after its pivot (the shipment cancelled), so money is never refunded
    for a shipment that goes out."""

    topic = PAYMENTS_COMMANDS
    namespace = PAYMENTS
    outcomes = (PaymentRefunded, PaymentRefundFailed)
    refusal = PaymentRefundFailed
