"""The orders service's unit of work (``saga_common.units``): orders by id, for the saga's commands.

A fetched batch of commands runs in one scope (``batch_scope``): one statement locks every order it
names, and at its end the changed orders are written in one UPDATE. (Orders are created by the REST
API, one per request, in its own transaction: ``services.order_place``.)
"""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from orders.models import Order
from saga_common.messaging.envelope import Envelope
from saga_common.units import Rows, Unit

# What the saga's commands and a cancellation request change.
_CHANGING = ("status", "rejection_reason", "cancellation_reason", "cancellation_refused_reason", "updated_at")


class OrdersUnit(Unit):
    def __init__(self) -> None:
        self.orders = Rows(Order, "id", _CHANGING)

    def flush(self) -> None:
        self.orders.flush()


def order_key(order_id: str) -> uuid.UUID | None:
    """The order's primary key, or None for an id that is no uuid (then it is no order of ours)."""
    try:
        return uuid.UUID(order_id)
    except ValueError:
        return None


@contextmanager
def batch_scope(envelopes: Sequence[Envelope]) -> Iterator[None]:
    """A fetched batch is one unit of work, its orders locked and read up front."""
    with OrdersUnit.scope() as unit:
        unit.orders.load(key for e in envelopes if (key := order_key(e.order_id)) is not None)
        yield
