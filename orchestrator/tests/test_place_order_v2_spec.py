"""PlaceOrder version 2 read as a specification: the payment's authorization and the shipment (held until
the money is captured) in parallel, joined before the capture, its pivot (pure; saga_testing.saga_spec)."""

from decimal import Decimal

from orchestrator.place_order import PlaceOrderData, place_order_v2
from saga_common.sagas.definition import SagaState
from saga_testing.saga_spec import SagaSpec, given
from shop_contracts import (
    ORDERS_COMMANDS,
    PAYMENTS_COMMANDS,
    SHIPPING_COMMANDS,
    ApproveOrder,
    AuthorizePayment,
    CancelShipment,
    CapturePayment,
    OrderApproved,
    OrderRejected,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentVoided,
    RejectOrder,
    ReleaseShipment,
    ScheduleShipment,
    ShipmentCancelled,
    ShipmentRejected,
    ShipmentReleased,
    ShipmentScheduled,
    VoidPayment,
)

ADDRESS = {"name": "Ada", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
AMOUNT = Decimal("25.00")
AUTHORIZE = AuthorizePayment(customer_id="c-1", amount=AMOUNT, currency="EUR")
VOID = VoidPayment(customer_id="c-1", amount=AMOUNT, currency="EUR")
SCHEDULE_HELD = ScheduleShipment(country="DE", address=ADDRESS, customer_id="c-1", hold_until_released=True)
CANCEL = CancelShipment(country="DE")
AUTHORIZED = PaymentAuthorized(payment_id="p-1", amount=AMOUNT)
SCHEDULED = ShipmentScheduled(shipment_id="s-1")


def an_order() -> SagaSpec[PlaceOrderData]:
    data = PlaceOrderData(customer_id="c-1", total=AMOUNT, currency="EUR", shipping_address=ADDRESS)
    return given(place_order_v2, data)


def test_it_authorizes_and_schedules_a_held_shipment_at_once() -> None:
    (
        an_order()
        .expect_all(AUTHORIZE, SCHEDULE_HELD)
        .expect(AUTHORIZE, to=PAYMENTS_COMMANDS)
        .expect(SCHEDULE_HELD, to=SHIPPING_COMMANDS)
        .is_in(SagaState.RUNNING)
    )


def test_it_captures_once_both_answered_then_approves_and_releases_the_shipment() -> None:
    (
        an_order()
        .reply(SCHEDULED)
        .expect_all(AUTHORIZE)  # still waiting for the payment
        .reply(AUTHORIZED)
        .expect(CapturePayment(), to=PAYMENTS_COMMANDS)
        .reply(PaymentCaptured(payment_id="p-1", amount=AMOUNT))
        .expect(ApproveOrder(), to=ORDERS_COMMANDS)
        .reply(OrderApproved())
        .expect(ReleaseShipment(), to=SHIPPING_COMMANDS)
        .reply(ShipmentReleased())
        .ends(SagaState.COMPLETED)
    )


def test_a_declined_payment_cancels_the_shipment_scheduled_beside_it_and_rejects_with_the_reason() -> None:
    (
        an_order()
        .reply(SCHEDULED)
        .reply(PaymentDeclined(reason="amount exceeds available credit"))
        .expect_all(CANCEL)
        .reply(ShipmentCancelled())
        .expect(RejectOrder(reason="amount exceeds available credit"), to=ORDERS_COMMANDS)
        .reply(OrderRejected())
        .ends(SagaState.COMPENSATED)
    )


def test_a_refused_shipment_while_the_payment_waits_voids_it_and_undoes_its_late_success() -> None:
    (
        an_order()
        .reply(ShipmentRejected(reason="we do not ship to AQ"))
        .expect_all(VOID)  # the authorization may yet succeed: it is voided now
        .reply(AUTHORIZED)  # and it did, after all
        .expect_late(VOID)
        .reply(PaymentVoided())
        .expect(RejectOrder(reason="we do not ship to AQ"), to=ORDERS_COMMANDS)
        .reply(OrderRejected())
        .ends(SagaState.COMPENSATED)
    )


def test_a_branch_given_up_on_while_the_other_succeeded_compensates_both() -> None:
    (
        an_order()
        .reply(AUTHORIZED)
        .never_answers(ScheduleShipment)
        .expect_all(CANCEL)
        .reply(ShipmentCancelled())
        .expect_all(VOID)
        .reply(SCHEDULED)  # the shipment given up on was scheduled after all: cancelled again
        .expect_late(CANCEL)
        .reply(PaymentVoided())
        .expect(RejectOrder(reason="the order could not be completed"), to=ORDERS_COMMANDS)
    )


def test_a_failed_capture_compensates_both_branches_latest_first() -> None:
    (
        an_order()
        .reply(AUTHORIZED)
        .reply(SCHEDULED)
        .reply(PaymentCaptureFailed(reason="card expired"))
        .expect_all(CANCEL)
        .reply(ShipmentCancelled())
        .expect_all(VOID)
        .reply(PaymentVoided())
        .expect(RejectOrder(reason="card expired"), to=ORDERS_COMMANDS)
    )


def test_past_the_pivot_an_unreleased_shipment_stops_the_saga_for_an_operator() -> None:
    (
        an_order()
        .reply(AUTHORIZED)
        .reply(SCHEDULED)
        .reply(PaymentCaptured(payment_id="p-1", amount=AMOUNT))
        .reply(OrderApproved())
        .never_answers()
        .ends(SagaState.FAILED)
    )
