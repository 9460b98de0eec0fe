"""The shipping service's unit of work (``saga_common.units``): shipments by order.

A fetched batch of commands runs in one scope (``batch_scope``): one statement locks the shipments of
every order in it, and at its end the batch's new shipments go in one INSERT and the changed ones in
one UPDATE.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from saga_common.messaging.envelope import Envelope
from saga_common.units import Rows, Unit
from shipping.models import Shipment


class ShippingUnit(Unit):
    def __init__(self) -> None:
        self.shipments = Rows(Shipment, "order_id", ("status", "released", "updated_at"))

    def flush(self) -> None:
        self.shipments.flush()


@contextmanager
def batch_scope(envelopes: Sequence[Envelope]) -> Iterator[None]:
    """A fetched batch is one unit of work, its shipments locked and read up front."""
    with ShippingUnit.scope() as unit:
        unit.shipments.load(e.order_id for e in envelopes if e.order_id)
        yield
