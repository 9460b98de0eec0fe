"""Commands the payments service answers (payments.commands); refusals become named replies
(``saga_common.messaging.participant``)."""

from payments import services
from payments.models import PaymentStatus
from saga_common.messaging.message import Reply
from saga_common.messaging.participant import command_handlers
from shop_contracts import (
    AuthorizePayment,
    CapturePayment,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
    RefundPayment,
    VoidPayment,
)


def authorize_payment(command: AuthorizePayment, order_id: str) -> Reply:
    payment = services.payment_authorize(
        order_id=order_id, customer_id=command.customer_id, amount=command.amount, currency=command.currency
    )
    if payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
        return PaymentAuthorized(payment_id=str(payment.id), amount=payment.amount)
    return PaymentDeclined(reason=payment.decline_reason or f"payment is {payment.status}")


def void_payment(command: VoidPayment, order_id: str) -> Reply:
    services.payment_void(
        order_id=order_id, customer_id=command.customer_id, amount=command.amount, currency=command.currency
    )
    return PaymentVoided()


def capture_payment(command: CapturePayment, order_id: str) -> Reply:
    payment = services.payment_capture(order_id=order_id)
    return PaymentCaptured(payment_id=str(payment.id), amount=payment.amount)


def refund_payment(command: RefundPayment, order_id: str) -> Reply:
    payment = services.payment_refund(order_id=order_id)
    return PaymentRefunded(payment_id=str(payment.id), amount=payment.amount)


HANDLERS = command_handlers(
    {
        AuthorizePayment: authorize_payment,
        VoidPayment: void_payment,
        CapturePayment: capture_payment,
        RefundPayment: refund_payment,
    }
)
