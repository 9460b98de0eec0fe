"""The CancelOrder saga (docs/contract.md, "The CancelOrder saga"), read top to bottom as its steps.

Its pivot comes first: the shipment is cancelled before anything else happens, and only a cancelled
shipment lets the saga refund the money. A dispatched shipment refuses the cancellation (the
participant's row lock orders a dispatch and a cancel), so money is never refunded for a shipment
that goes out; the order is then APPROVED again, with the reason. Once the shipment is cancelled the
saga only goes forward: the refund and the order's confirmation must succeed (an operator retries
them if they cannot).
"""

from decimal import Decimal

import msgspec

from saga_common.sagas.definition import Saga
from shop_contracts import (
    CancelShipment,
    ConfirmOrderCancellation,
    OrderCancellationRequested,
    RefundPayment,
    RefuseOrderCancellation,
    ShipmentCancellationRefused,
)


class CancelOrderData(msgspec.Struct, kw_only=True):
    """What the saga knows of the order it cancels, kept with the saga between steps."""

    customer_id: str
    total: Decimal
    currency: str
    country: str
    reason: str = ""  # the customer's
    refusal_reason: str | None = None  # why shipping refused; RefuseOrderCancellation passes it on

    @classmethod
    def from_event(cls, event: OrderCancellationRequested) -> "CancelOrderData":
        return cls(
            customer_id=event.customer_id,
            total=event.total,
            currency=event.currency,
            country=event.country,
            reason=event.reason,
        )


def cancel_shipment(data: CancelOrderData) -> CancelShipment:
    return CancelShipment(country=data.country)


def refund_payment(data: CancelOrderData) -> RefundPayment:
    return RefundPayment()


def confirm_cancellation(data: CancelOrderData) -> ConfirmOrderCancellation:
    return ConfirmOrderCancellation()


def refuse_cancellation(data: CancelOrderData) -> RefuseOrderCancellation:
    return RefuseOrderCancellation(reason=data.refusal_reason or "the order could not be cancelled")


def record_refusal(data: CancelOrderData, reply: ShipmentCancellationRefused) -> None:
    data.refusal_reason = reply.reason


cancel_order = (
    Saga("cancel_order", CancelOrderData)
    .pivot(cancel_shipment, on_reply={ShipmentCancellationRefused: record_refusal})
    .step(refund_payment)
    .step(confirm_cancellation)
    .on_compensated(refuse_cancellation)
)
