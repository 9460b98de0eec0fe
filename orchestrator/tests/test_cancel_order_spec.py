"""The CancelOrder saga read as a specification (pure: no database, no broker; see saga_testing.saga_spec).

What it must guarantee: the money is refunded only once the shipment is cancelled, so a dispatched
shipment (which refuses its cancellation) never gets its order's money back."""

from decimal import Decimal

from orchestrator.cancel_order import CancelOrderData, cancel_order
from saga_common.sagas.definition import SagaState
from saga_testing.saga_spec import SagaSpec, given
from shop_contracts import (
    ORDERS_COMMANDS,
    PAYMENTS_COMMANDS,
    SHIPPING_COMMANDS,
    CancelShipment,
    ConfirmOrderCancellation,
    OrderCancellationFailed,
    OrderCancellationRefusalFailed,
    OrderCancellationRefused,
    OrderCancelled,
    PaymentRefunded,
    PaymentRefundFailed,
    RefundPayment,
    RefuseOrderCancellation,
    ShipmentCancellationRefused,
    ShipmentCancelled,
)

AMOUNT = Decimal("25.00")
DISPATCHED = "shipment 5e0c was dispatched and cannot be cancelled"


def a_cancellation() -> SagaSpec[CancelOrderData]:
    data = CancelOrderData(customer_id="c-1", total=AMOUNT, currency="EUR", country="DE", reason="too slow")
    return given(cancel_order, data)


def test_it_cancels_the_shipment_first() -> None:
    a_cancellation().expect(CancelShipment(country="DE"), to=SHIPPING_COMMANDS).is_in(SagaState.RUNNING)


def test_a_cancelled_shipment_is_refunded_then_the_order_cancelled() -> None:
    (
        a_cancellation()
        .reply(ShipmentCancelled())
        .expect(RefundPayment(), to=PAYMENTS_COMMANDS)
        .reply(PaymentRefunded(payment_id="p-1", amount=AMOUNT))
        .expect(ConfirmOrderCancellation(), to=ORDERS_COMMANDS)
        .reply(OrderCancelled())
        .ends(SagaState.COMPLETED)
    )


def test_a_dispatched_shipment_refuses_and_the_order_is_kept_with_the_reason_and_no_refund() -> None:
    (
        a_cancellation()
        .reply(ShipmentCancellationRefused(reason=DISPATCHED))
        .expect(RefuseOrderCancellation(reason=DISPATCHED), to=ORDERS_COMMANDS)
        .is_in(SagaState.COMPENSATING)
        .reply(OrderCancellationRefused())
        .ends(SagaState.COMPENSATED)
    )


def test_a_shipment_that_never_answers_stops_the_saga_for_an_operator_refunding_nothing() -> None:
    # the cancel may have happened, or not: neither refunding nor keeping the order is safe to guess
    a_cancellation().never_answers().ends(SagaState.FAILED)


def test_past_the_pivot_a_refused_refund_stops_the_saga_for_an_operator() -> None:
    (
        a_cancellation()
        .reply(ShipmentCancelled())
        .reply(PaymentRefundFailed(reason="payment of order o-1 is VOIDED and cannot be refunded"))
        .ends(SagaState.FAILED)
    )


def test_past_the_pivot_a_silent_refund_stops_the_saga_for_an_operator() -> None:
    a_cancellation().reply(ShipmentCancelled()).never_answers().ends(SagaState.FAILED)


def test_a_refused_confirmation_stops_the_saga_for_an_operator() -> None:
    (
        a_cancellation()
        .reply(ShipmentCancelled())
        .reply(PaymentRefunded(payment_id="p-1", amount=AMOUNT))
        .reply(OrderCancellationFailed(reason="order is APPROVED and cannot be cancelled"))
        .ends(SagaState.FAILED)
    )


def test_keeping_the_order_must_succeed_a_failure_is_asked_again() -> None:
    (
        a_cancellation()
        .reply(ShipmentCancellationRefused(reason=DISPATCHED))
        .reply(OrderCancellationRefusalFailed(reason="order is busy"))
        .expect(RefuseOrderCancellation(reason=DISPATCHED), to=ORDERS_COMMANDS)
        .on_attempt(2)
        .reply(OrderCancellationRefused())
        .ends(SagaState.COMPENSATED)
    )
