"""Writes of the payments service: each is safe to repeat, and runs in the payments unit of work
(``payments.unit_of_work``): on its own, one transaction; in the inbox, part of its batch's."""

from decimal import Decimal

from django.db import IntegrityError, transaction

from payments.models import Account, Payment, PaymentStatus
from payments.selectors import account_available
from payments.unit_of_work import PaymentsUnit
from saga_common.errors import Conflict


def account_open(*, customer_id: str, currency: str, credit_limit: Decimal) -> Account:
    try:
        with transaction.atomic():
            return Account.objects.create(
                customer_id=customer_id, currency=currency, credit_limit=credit_limit
            )
    except IntegrityError as exc:
        raise Conflict(f"customer {customer_id} already has an account") from exc


def payment_authorize(*, order_id: str, customer_id: str, amount: Decimal, currency: str) -> Payment:
    """Hold ``amount`` of the customer's credit for the order, or record why it was declined.

    The account row is locked so concurrent authorizations of one customer cannot overspend.
    A second authorization of the same order returns the first payment unchanged.
    """
    with PaymentsUnit.scope() as unit:
        existing = unit.payments.get(order_id)
        if existing is not None:
            return existing
        account = unit.accounts.get(customer_id)
        if account is None:
            reason = "customer has no account"
        elif account.currency != currency:
            reason = f"account is in {account.currency}, order in {currency}"
        elif amount > account_available(account):
            reason = "amount exceeds available credit"
        else:
            reason = None
            unit.hold(customer_id, amount)
        return unit.payments.add(
            Payment(
                order_id=order_id,
                customer_id=customer_id,
                amount=amount,
                currency=currency,
                status=PaymentStatus.DECLINED if reason else PaymentStatus.AUTHORIZED,
                decline_reason=reason,
            )
        )


def payment_void(
    *, order_id: str, customer_id: str = "", amount: Decimal = Decimal("0.00"), currency: str = ""
) -> Payment:
    """Release an authorization. Nothing to release (declined, already voided) is not an error.

    A void before any authorization records the payment as VOIDED, so an authorization that arrives
    after its saga gave up finds it and is declined instead of holding money nobody will release.
    """
    with PaymentsUnit.scope() as unit:
        payment = unit.payments.get(order_id)
        if payment is None:  # written at once, not at the end: see Rows.insert_at_once
            payment = unit.payments.insert_at_once(
                Payment(
                    order_id=order_id,
                    customer_id=customer_id,
                    amount=amount,
                    currency=currency,
                    status=PaymentStatus.VOIDED,
                    decline_reason="voided before it was authorized",
                )
            )
        if payment.status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
            raise Conflict(f"payment of order {order_id} is {payment.status} and cannot be voided")
        if payment.status == PaymentStatus.AUTHORIZED:
            payment.status = PaymentStatus.VOIDED
            unit.payments.changed(payment)
            unit.hold(payment.customer_id, -payment.amount)
        return payment


def payment_capture(*, order_id: str) -> Payment:
    """Take the authorized money; capturing a captured payment again changes nothing.

    The money stays held (a captured payment holds its credit, as an authorized one does).
    """
    with PaymentsUnit.scope() as unit:
        payment = unit.payments.get(order_id)
        if payment is None:
            raise Conflict(f"order {order_id} has no payment to be captured")
        if payment.status == PaymentStatus.AUTHORIZED:
            payment.status = PaymentStatus.CAPTURED
            unit.payments.changed(payment)
        elif payment.status != PaymentStatus.CAPTURED:
            raise Conflict(f"payment of order {order_id} is {payment.status} and cannot be captured")
        return payment


def payment_refund(*, order_id: str) -> Payment:
    """Give a captured payment's money back: the account no longer holds it. Refunding a REFUNDED payment
    again changes nothing; any other payment is refused (``Conflict``): there is no money to give back.
    """
    with PaymentsUnit.scope() as unit:
        payment = unit.payments.get(order_id)
        if payment is None:
            raise Conflict(f"order {order_id} has no payment to be refunded")
        if payment.status == PaymentStatus.CAPTURED:
            payment.status = PaymentStatus.REFUNDED
            unit.payments.changed(payment)
            unit.hold(payment.customer_id, -payment.amount)
        elif payment.status != PaymentStatus.REFUNDED:
            raise Conflict(f"payment of order {order_id} is {payment.status} and cannot be refunded")
        return payment
