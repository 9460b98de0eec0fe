"""Commands the payments service answers (payments.commands); domain refusals become named replies."""

from payments import services
from payments.models import PaymentStatus
from saga_common.api import DomainError
from saga_common.contracts import (
    AuthorizePayment,
    CapturePayment,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentRefundFailed,
    PaymentVoided,
    RefundPayment,
    VoidPayment,
)
from saga_common.envelope import Envelope
from saga_common.inbox import HandlerRegistry
from saga_common.participant import reply


def authorize_payment(command: Envelope) -> None:
    request = command.message_as(AuthorizePayment)
    payment = services.payment_authorize(
        order_id=command.order_id,
        customer_id=request.customer_id,
        amount=request.amount,
        currency=request.currency,
    )
    if payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
        reply(command, PaymentAuthorized(payment_id=str(payment.id), amount=payment.amount))
    else:
        reply(command, PaymentDeclined(reason=payment.decline_reason or f"payment is {payment.status}"))


def void_payment(command: Envelope) -> None:
    request = command.message_as(VoidPayment)
    services.payment_void(
        order_id=command.order_id,
        customer_id=request.customer_id,
        amount=request.amount,
        currency=request.currency,
    )
    reply(command, PaymentVoided())


def capture_payment(command: Envelope) -> None:
    try:
        payment = services.payment_capture(order_id=command.order_id)
    except DomainError as refusal:
        reply(command, PaymentCaptureFailed(reason=refusal.detail))
        return
    reply(command, PaymentCaptured(payment_id=str(payment.id), amount=payment.amount))


def refund_payment(command: Envelope) -> None:
    try:
        services.payment_refund(order_id=command.order_id)
    except DomainError as refusal:
        reply(command, PaymentRefundFailed(reason=refusal.detail))
        return
    reply(command, PaymentRefunded())


HANDLERS: HandlerRegistry = {
    AuthorizePayment: authorize_payment,
    VoidPayment: void_payment,
    CapturePayment: capture_payment,
    RefundPayment: refund_payment,
}
