"""Writes of the payments service: each is one transaction and safe to repeat."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from payments.models import Account, Payment, PaymentStatus
from payments.selectors import account_available
from saga_common.errors import Conflict


def account_open(*, customer_id: str, currency: str, credit_limit: Decimal) -> Account:
    try:
        with transaction.atomic():
            return Account.objects.create(
                customer_id=customer_id, currency=currency, credit_limit=credit_limit
            )
    except IntegrityError as exc:
        raise Conflict(f"customer {customer_id} already has an account") from exc


@transaction.atomic
def payment_authorize(*, order_id: str, customer_id: str, amount: Decimal, currency: str) -> Payment:
    """Hold ``amount`` of the customer's credit for the order, or record why it was declined.

    The account row is locked so concurrent authorizations of one customer cannot overspend.
    A second authorization of the same order returns the first payment unchanged.
    """
    existing = Payment.objects.filter(order_id=order_id).first()
    if existing is not None:
        return existing
    account = Account.objects.select_for_update().filter(customer_id=customer_id).first()
    if account is None:
        reason = "customer has no account"
    elif account.currency != currency:
        reason = f"account is in {account.currency}, order in {currency}"
    elif amount > account_available(account):
        reason = "amount exceeds available credit"
    else:
        reason = None
        _hold(customer_id, amount)
    return Payment.objects.create(
        order_id=order_id,
        customer_id=customer_id,
        amount=amount,
        currency=currency,
        status=PaymentStatus.DECLINED if reason else PaymentStatus.AUTHORIZED,
        decline_reason=reason,
    )


@transaction.atomic
def payment_void(
    *, order_id: str, customer_id: str = "", amount: Decimal = Decimal("0.00"), currency: str = ""
) -> Payment:
    """Release an authorization. Nothing to release (declined, already voided) is not an error.

    A void before any authorization records the payment as VOIDED, so an authorization that arrives
    after its saga gave up finds it and is declined instead of holding money nobody will release.
    """
    payment = Payment.objects.select_for_update().filter(order_id=order_id).first()
    if payment is None:
        Payment.objects.get_or_create(
            order_id=order_id,
            defaults={
                "customer_id": customer_id,
                "amount": amount,
                "currency": currency,
                "status": PaymentStatus.VOIDED,
                "decline_reason": "voided before it was authorized",
            },
        )
        # get_or_create hands back an authorization committed meanwhile without locking it, and two
        # voids (two attempts of one step) would both release its hold: lock it, and read it afresh.
        payment = Payment.objects.select_for_update().get(order_id=order_id)
    if payment.status == PaymentStatus.AUTHORIZED:
        payment.status = PaymentStatus.VOIDED
        payment.save(update_fields=["status", "updated_at"])
        _hold(payment.customer_id, -payment.amount)
    if payment.status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
        raise Conflict(f"payment of order {order_id} is {payment.status} and cannot be voided")
    return payment


@transaction.atomic
def payment_capture(*, order_id: str) -> Payment:
    """Take the authorized money; capturing a captured payment again changes nothing.

    The money stays held (a captured payment holds its credit, as an authorized one does).
    """
    payment = Payment.objects.select_for_update().filter(order_id=order_id).first()
    if payment is None:
        raise Conflict(f"order {order_id} has no payment to be captured")
    if payment.status == PaymentStatus.AUTHORIZED:
        payment.status = PaymentStatus.CAPTURED
        payment.save(update_fields=["status", "updated_at"])
    elif payment.status != PaymentStatus.CAPTURED:
        raise Conflict(f"payment of order {order_id} is {payment.status} and cannot be captured")
    return payment


def _hold(customer_id: str, amount: Decimal) -> None:
    """Add ``amount`` (negative: release it) to what the customer's account holds.

    Locks are always taken payment first, then account (authorize holds only the account), so this
    cannot deadlock with another payment of the same customer.
    """
    Account.objects.filter(customer_id=customer_id).update(held=F("held") + amount, updated_at=timezone.now())
