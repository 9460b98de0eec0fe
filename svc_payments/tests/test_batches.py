"""A fetched batch of payment commands is one unit of work (``payments.unit_of_work``): the same replies
and holds as one command at a time, in the same few statements whatever its size."""

from decimal import Decimal

import pytest

from payments.handlers import HANDLERS
from payments.models import Account, Payment
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.message import Command
from saga_testing.messages import deliver_batch, deliver_each, statements_of, wrap
from shop_contracts import AuthorizePayment, CapturePayment, VoidPayment
from tests.holdings import held_by_payments

pytestmark = pytest.mark.django_db


def commands(customer: str) -> list[Envelope]:
    """Authorizations until the credit (50.00) runs out, a void that frees some, a capture, repeats,
    and a void before its authorization: what a busy partition may bring in one fetch."""

    def authorize(amount: str) -> AuthorizePayment:
        return AuthorizePayment(customer_id=customer, amount=Decimal(amount), currency="EUR")

    void = VoidPayment(customer_id=customer, amount=Decimal("20.00"), currency="EUR")
    steps: list[tuple[str, Command]] = [
        ("o1", authorize("20.00")),
        ("o2", authorize("20.00")),
        ("o3", authorize("20.00")),  # declined: 10.00 left
        ("o1", void),  # frees 20.00
        ("o4", authorize("20.00")),
        ("o2", CapturePayment()),
        ("o2", authorize("20.00")),  # a repeat: the first answer again
        ("o9", void),  # before its authorization: a tombstone
        ("o9", authorize("20.00")),  # declined: voided already
        ("o7", CapturePayment()),  # refused: no payment to capture
    ]
    return [wrap(command, order_id=f"{customer}-{order}", saga_id="s") for order, command in steps]


def answers(replies: list[Envelope]) -> list[tuple[str, object]]:
    """Each reply's type and payload, without what differs by customer (payment ids, order ids)."""
    return [
        (
            r.type,
            {
                k: v.split("-", 1)[-1] if k == "reason" else v
                for k, v in r.payload.items()
                if k != "payment_id"
            },
        )
        for r in replies
    ]


def payments_of(customer: str) -> list[tuple[str, str, str]]:
    return sorted(
        (p.order_id.split("-", 1)[1], p.status, str(p.amount))
        for p in Payment.objects.filter(customer_id=customer)
    )


def test_a_batch_answers_and_holds_as_one_command_at_a_time_would() -> None:
    for customer in ("each", "batch"):
        Account.objects.create(customer_id=customer, currency="EUR", credit_limit=Decimal("50.00"))
    alone = deliver_each(commands("each"), HANDLERS)
    together = deliver_batch(commands("batch"), HANDLERS)
    assert answers(together) == answers(alone)
    assert [t for t, _ in answers(together)].count("PaymentDeclined") == 2
    assert answers(together)[-1][0] == "PaymentCaptureFailed"
    assert payments_of("batch") == payments_of("each")
    for customer in ("each", "batch"):
        assert (
            Account.objects.get(customer_id=customer).held == held_by_payments(customer) == Decimal("40.00")
        )


def test_a_batch_costs_the_same_statements_whatever_its_size() -> None:
    Account.objects.create(customer_id="c", currency="EUR", credit_limit=Decimal("1000.00"))

    def authorizations(count: int, prefix: str) -> list[Envelope]:
        command = AuthorizePayment(customer_id="c", amount=Decimal("1.00"), currency="EUR")
        return [wrap(command, order_id=f"{prefix}{i}", saga_id="s") for i in range(count)]

    small = statements_of(lambda: deliver_batch(authorizations(2, "a"), HANDLERS))
    large = statements_of(lambda: deliver_batch(authorizations(40, "b"), HANDLERS))
    assert Payment.objects.filter(status="AUTHORIZED").count() == 42
    assert large == small <= 12
