"""A participant's refusal must come before any change its unit of work noted (``saga_common.units``):
a refusal after a change would be written with the change, so it is a bug, not a reply."""

from decimal import Decimal

import pytest

from saga_common import units
from saga_common.errors import Conflict
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.participant import answering
from shop_contracts import AuthorizePayment, PaymentAuthorized


def command() -> Envelope:
    message = AuthorizePayment(customer_id="c-1", amount=Decimal("1.00"), currency="EUR")
    return Envelope.wrap(message, order_id="o-1", correlation_id="k", source="/tests", saga_id="s")


def test_a_refusal_after_a_noted_change_is_raised_as_a_bug() -> None:
    def refuse_late(_command: AuthorizePayment, _order_id: str) -> PaymentAuthorized:
        units.note()  # as Rows.add or Rows.changed do
        raise Conflict("too late to say no")

    with pytest.raises(units.RefusedAfterChange):
        answering(AuthorizePayment, refuse_late)(command())


def test_notes_count_every_change_noted() -> None:
    before = units.notes()
    units.note()
    units.note()
    assert units.notes() == before + 2
