"""The payment commands of the saga and the replies they produce."""

from decimal import Decimal

import pytest

from payments.handlers import HANDLERS
from payments.models import Account, Payment, PaymentStatus
from payments.selectors import account_available
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.message import Message
from saga_testing.messages import deliver
from shop_contracts import AuthorizePayment, CapturePayment, RefundPayment, VoidPayment
from tests.holdings import held_by_payments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def account() -> Account:
    return Account.objects.create(customer_id="c-1", currency="EUR", credit_limit=Decimal("50.00"))


def handle(message: Message, order_id: str = "o-1") -> Envelope:
    return deliver(message, HANDLERS, order_id=order_id)


def authorize(amount: str, customer: str = "c-1", currency: str = "EUR", order_id: str = "o-1") -> Envelope:
    return handle(AuthorizePayment(customer_id=customer, amount=Decimal(amount), currency=currency), order_id)


def test_authorization_within_credit_holds_the_amount() -> None:
    reply = authorize("50.00")
    payment = Payment.objects.get()
    assert (reply.type, reply.payload) == (
        "PaymentAuthorized",
        {"payment_id": str(payment.id), "amount": "50.00"},
    )
    assert payment.status == PaymentStatus.AUTHORIZED


@pytest.mark.parametrize(
    ("customer", "amount", "currency", "reason"),
    [
        ("c-1", "50.01", "EUR", "amount exceeds available credit"),
        ("c-9", "1.00", "EUR", "customer has no account"),
        ("c-1", "1.00", "USD", "account is in EUR, order in USD"),
    ],
)
def test_authorization_declined_with_the_reason(
    customer: str, amount: str, currency: str, reason: str
) -> None:
    reply = authorize(amount, customer, currency)
    assert (reply.type, reply.payload) == ("PaymentDeclined", {"reason": reason})
    assert Payment.objects.get().status == PaymentStatus.DECLINED


def test_open_authorizations_count_against_later_ones() -> None:
    assert authorize("30.00", order_id="o-1").type == "PaymentAuthorized"
    assert authorize("30.00", order_id="o-2").type == "PaymentDeclined"
    handle(VoidPayment(), "o-1")
    assert authorize("30.00", order_id="o-3").type == "PaymentAuthorized"


def test_repeated_authorization_of_an_order_returns_the_first_outcome() -> None:
    first = authorize("10.00")
    second = authorize("10.00")
    assert first.payload == second.payload
    assert Payment.objects.count() == 1


def test_void_releases_and_is_safe_to_repeat_or_send_for_nothing() -> None:
    authorize("10.00")
    assert handle(VoidPayment()).type == "PaymentVoided"
    assert handle(VoidPayment()).type == "PaymentVoided"
    assert handle(VoidPayment(), "o-unknown").type == "PaymentVoided"
    assert Payment.objects.get(order_id="o-1").status == PaymentStatus.VOIDED


def test_a_void_before_its_authorization_makes_the_late_authorization_decline() -> None:
    # the saga gave up waiting and voided; then the delayed AuthorizePayment arrives
    void = VoidPayment(customer_id="c-1", amount=Decimal("10.00"), currency="EUR")
    assert handle(void).type == "PaymentVoided"
    late = authorize("10.00")
    assert (late.type, late.payload["reason"]) == ("PaymentDeclined", "voided before it was authorized")
    payment = Payment.objects.get()
    assert (payment.status, payment.amount, payment.customer_id) == (PaymentStatus.VOIDED, 10, "c-1")
    account = Account.objects.get(customer_id="c-1")
    assert account_available(account) == account.credit_limit  # nothing held


def test_capture_is_idempotent() -> None:
    authorize("10.00")
    captured = handle(CapturePayment())
    assert (captured.type, captured.payload["amount"]) == ("PaymentCaptured", "10.00")
    assert handle(CapturePayment()).type == "PaymentCaptured"  # idempotent
    assert Payment.objects.get().status == PaymentStatus.CAPTURED


def test_capture_of_a_voided_payment_fails_with_a_reply() -> None:
    authorize("10.00")
    handle(VoidPayment())
    reply = handle(CapturePayment())
    assert reply.type == "PaymentCaptureFailed"
    assert "VOIDED" in reply.payload["reason"]
    assert Payment.objects.get().status == PaymentStatus.VOIDED


def test_the_held_total_follows_every_payment_that_enters_or_leaves_a_holding_status() -> None:
    def available() -> Decimal:
        account = Account.objects.get(customer_id="c-1")
        assert account.held == held_by_payments("c-1")  # the stored total never drifts from the sum
        return account_available(account)

    authorize("10.00", order_id="o-1")
    authorize("10.00", order_id="o-1")  # repeated: holds nothing more
    authorize("15.00", order_id="o-2")
    authorize("20.00", order_id="o-3")
    assert available() == Decimal("5.00")
    assert authorize("5.01", order_id="o-4").type == "PaymentDeclined"
    handle(CapturePayment(), "o-1")  # captured still holds
    handle(CapturePayment(), "o-1")
    assert available() == Decimal("5.00")
    handle(VoidPayment(), "o-2")
    handle(VoidPayment(), "o-2")  # repeated: releases nothing more
    assert available() == Decimal("20.00")
    handle(VoidPayment(customer_id="c-1", amount=Decimal("9.00"), currency="EUR"), "o-5")  # a tombstone
    assert available() == Decimal("20.00")
    handle(CapturePayment(), "o-3")
    assert available() == Decimal("20.00")
    handle(RefundPayment(), "o-3")  # refunded: the money is back
    handle(RefundPayment(), "o-3")  # repeated: gives nothing more back
    assert available() == Decimal("40.00")


def test_voiding_a_captured_payment_is_refused_with_a_reply_not_retried() -> None:
    # given a captured payment
    authorize("10.00")
    handle(CapturePayment())
    # when a void arrives (say, a compensation sent by hand or from an old dead letter)
    reply = handle(VoidPayment())
    # then it is refused with a named reply, and the capture stands
    assert reply.type == "PaymentVoidFailed"
    assert "CAPTURED" in reply.payload["reason"]
    assert Payment.objects.get().status == PaymentStatus.CAPTURED


def test_a_refund_gives_a_captured_payments_money_back_once() -> None:
    authorize("10.00")
    handle(CapturePayment())
    refunded = handle(RefundPayment())
    payment = Payment.objects.get()
    assert (refunded.type, refunded.payload) == (
        "PaymentRefunded",
        {"payment_id": str(payment.id), "amount": "10.00"},
    )
    assert handle(RefundPayment()).payload == refunded.payload  # a repeat answers the same
    assert payment.status == PaymentStatus.REFUNDED
    assert account_available(Account.objects.get(customer_id="c-1")) == Decimal("50.00")


@pytest.mark.parametrize("before", ["authorized", "voided", "declined", "nothing"])
def test_only_a_captured_payment_is_refunded_anything_else_is_refused(before: str) -> None:
    # given a payment that holds no captured money (or none at all)
    if before == "authorized":
        authorize("10.00")
    elif before == "voided":
        authorize("10.00")
        handle(VoidPayment())
    elif before == "declined":
        authorize("99.00")
    statuses = list(Payment.objects.values_list("status", flat=True))
    held = Account.objects.get(customer_id="c-1").held
    # when a refund arrives, it is refused with a named reply and changes nothing
    reply = handle(RefundPayment())
    assert reply.type == "PaymentRefundFailed"
    assert "cannot be refunded" in reply.payload["reason"] or "no payment" in reply.payload["reason"]
    assert list(Payment.objects.values_list("status", flat=True)) == statuses
    assert Account.objects.get(customer_id="c-1").held == held
