"""The payments service's unit of work (``saga_common.units``): payments by order, accounts by customer.

A fetched batch of commands runs in one scope (``batch_scope``): one statement locks the payments of
every order in it, one more the accounts of every customer it names or whose payment it touches, and
at its end the batch's new payments go in one INSERT, and the changed payments and accounts in one
UPDATE each. Locks are taken payments first, then accounts, by every path.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal

from payments.models import Account, Payment
from saga_common.messaging.envelope import Envelope
from saga_common.units import Rows, Unit


class PaymentsUnit(Unit):
    def __init__(self) -> None:
        self.payments = Rows(Payment, "order_id", ("status", "updated_at"))
        self.accounts = Rows(Account, "customer_id", ("held", "updated_at"))

    def hold(self, customer_id: str, amount: Decimal) -> None:
        """Add ``amount`` (negative: release it) to what the customer's account holds."""
        account = self.accounts.get(customer_id)
        if account is not None:  # only payments of an account ever hold money
            account.held += amount
            self.accounts.changed(account)

    def flush(self) -> None:
        self.payments.flush()
        self.accounts.flush()


@contextmanager
def batch_scope(envelopes: Sequence[Envelope]) -> Iterator[None]:
    """A fetched batch is one unit of work, its payments and accounts locked and read up front."""
    with PaymentsUnit.scope() as unit:
        unit.payments.load(e.order_id for e in envelopes if e.order_id)
        named = {_customer_named(e) for e in envelopes}
        unit.accounts.load({p.customer_id for p in unit.payments.loaded()} | {c for c in named if c})
        yield


def _customer_named(envelope: Envelope) -> str | None:
    """The ``customer_id`` a command names, if any (a malformed one is refused by its handler)."""
    try:
        payload = envelope.payload
    except ValueError:
        return None
    customer = payload.get("customer_id") if isinstance(payload, dict) else None
    return customer if isinstance(customer, str) else None
