"""The PlaceOrder saga (docs/contract.md, "The PlaceOrder saga"), read top to bottom as its steps.

Version 2 authorizes the payment and schedules the shipment at once (one fewer hop before the
decision), holding the shipment until the money is captured; version 1 did one after the other, and
stays registered while sagas run it (docs/operations.md, "Saga versions").
"""

from decimal import Decimal
from typing import Any

import msgspec

from saga_common.sagas.definition import Saga, branch
from shop_contracts import (
    ApproveOrder,
    AuthorizePayment,
    CancelShipment,
    CapturePayment,
    OrderCreated,
    PaymentCaptureFailed,
    PaymentDeclined,
    RejectOrder,
    ReleaseShipment,
    ScheduleShipment,
    ShipmentRejected,
    VoidPayment,
)


class PlaceOrderData(msgspec.Struct, kw_only=True):
    """What the saga knows of its order, kept with the saga (its ``data``) between steps."""

    customer_id: str
    total: Decimal
    currency: str
    shipping_address: dict[str, Any]
    rejection_reason: str | None = None  # what a participant's refusal said; RejectOrder passes it on

    @classmethod
    def from_event(cls, event: OrderCreated) -> "PlaceOrderData":
        return cls(
            customer_id=event.customer_id,
            total=event.total,
            currency=event.currency,
            shipping_address=event.shipping_address,
        )


def authorize_payment(data: PlaceOrderData) -> AuthorizePayment:
    return AuthorizePayment(customer_id=data.customer_id, amount=data.total, currency=data.currency)


def void_payment(data: PlaceOrderData) -> VoidPayment:
    return VoidPayment(customer_id=data.customer_id, amount=data.total, currency=data.currency)


def schedule_shipment(data: PlaceOrderData) -> ScheduleShipment:
    return ScheduleShipment(
        country=data.shipping_address["country"], address=data.shipping_address, customer_id=data.customer_id
    )


def schedule_held_shipment(data: PlaceOrderData) -> ScheduleShipment:
    """Schedule it, held: it may not be dispatched before the money is captured (release_shipment)."""
    return ScheduleShipment(
        country=data.shipping_address["country"],
        address=data.shipping_address,
        customer_id=data.customer_id,
        hold_until_released=True,
    )


def release_shipment(data: PlaceOrderData) -> ReleaseShipment:
    return ReleaseShipment()


def cancel_shipment(data: PlaceOrderData) -> CancelShipment:
    return CancelShipment(country=data.shipping_address["country"])


def capture_payment(data: PlaceOrderData) -> CapturePayment:
    return CapturePayment()


def approve_order(data: PlaceOrderData) -> ApproveOrder:
    return ApproveOrder()


def reject_order(data: PlaceOrderData) -> RejectOrder:
    return RejectOrder(reason=data.rejection_reason or "the order could not be completed")


def record_rejection(
    data: PlaceOrderData, reply: PaymentDeclined | ShipmentRejected | PaymentCaptureFailed
) -> None:
    data.rejection_reason = reply.reason


place_order_v1 = (
    Saga("place_order", PlaceOrderData, version=1)
    .step(
        authorize_payment,
        compensate=void_payment,
        on_reply={PaymentDeclined: record_rejection},
    )
    .step(
        schedule_shipment,
        compensate=cancel_shipment,
        on_reply={ShipmentRejected: record_rejection},
    )
    .pivot(capture_payment, on_reply={PaymentCaptureFailed: record_rejection})
    .step(approve_order)
    .on_compensated(reject_order)
)

place_order_v2 = (
    Saga("place_order", PlaceOrderData, version=2)
    .parallel(
        branch(authorize_payment, compensate=void_payment, on_reply={PaymentDeclined: record_rejection}),
        branch(
            schedule_held_shipment, compensate=cancel_shipment, on_reply={ShipmentRejected: record_rejection}
        ),
    )
    .pivot(capture_payment, on_reply={PaymentCaptureFailed: record_rejection})
    .step(approve_order)
    .step(release_shipment)
    .on_compensated(reject_order)
)
