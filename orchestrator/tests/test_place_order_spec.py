"""PlaceOrder version 1 read as a specification: given its data, expect this command to that topic; given
this reply, expect that one (pure: no database, no broker; see saga_testing.saga_spec)."""

from decimal import Decimal

from orchestrator.place_order import PlaceOrderData
from orchestrator.place_order import place_order_v1 as place_order
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
    OrderApprovalFailed,
    OrderApproved,
    OrderRejected,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentVoided,
    PaymentVoidFailed,
    RejectOrder,
    ScheduleShipment,
    ShipmentCancelled,
    ShipmentRejected,
    ShipmentScheduled,
    VoidPayment,
)

ADDRESS = {"name": "Ada", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
AMOUNT = Decimal("25.00")
AUTHORIZE = AuthorizePayment(customer_id="c-1", amount=AMOUNT, currency="EUR")
VOID = VoidPayment(customer_id="c-1", amount=AMOUNT, currency="EUR")
SCHEDULE = ScheduleShipment(country="DE", address=ADDRESS, customer_id="c-1")
AUTHORIZED = PaymentAuthorized(payment_id="p-1", amount=AMOUNT)
SCHEDULED = ShipmentScheduled(shipment_id="s-1")


def an_order() -> SagaSpec[PlaceOrderData]:
    data = PlaceOrderData(customer_id="c-1", total=AMOUNT, currency="EUR", shipping_address=ADDRESS)
    return given(place_order, data)


def test_given_an_order_expect_authorize_payment_on_payments_commands() -> None:
    an_order().expect(AUTHORIZE, to=PAYMENTS_COMMANDS).is_in(SagaState.RUNNING)


def test_given_payment_authorized_expect_schedule_shipment_to_the_order_address() -> None:
    an_order().reply(AUTHORIZED).expect(SCHEDULE, to=SHIPPING_COMMANDS)


def test_happy_path_captures_then_approves_and_completes() -> None:
    (
        an_order()
        .reply(AUTHORIZED)
        .reply(SCHEDULED)
        .expect(CapturePayment(), to=PAYMENTS_COMMANDS)
        .reply(PaymentCaptured(payment_id="p-1", amount=AMOUNT))
        .expect(ApproveOrder(), to=ORDERS_COMMANDS)
        .reply(OrderApproved())
        .ends(SagaState.COMPLETED)
    )


def test_given_payment_declined_expect_reject_order_with_the_reason() -> None:
    (
        an_order()
        .reply(PaymentDeclined(reason="amount exceeds available credit"))
        .expect(RejectOrder(reason="amount exceeds available credit"), to=ORDERS_COMMANDS)
        .is_in(SagaState.COMPENSATING)
        .reply(OrderRejected())
        .ends(SagaState.COMPENSATED)
    )


def test_given_shipment_rejected_expect_void_payment_then_reject_order() -> None:
    (
        an_order()
        .reply(AUTHORIZED)
        .reply(ShipmentRejected(reason="we do not ship to AQ"))
        .expect(VOID, to=PAYMENTS_COMMANDS)
        .reply(PaymentVoided())
        .expect(RejectOrder(reason="we do not ship to AQ"), to=ORDERS_COMMANDS)
        .reply(OrderRejected())
        .ends(SagaState.COMPENSATED)
    )


def test_given_capture_failed_expect_cancel_then_void_latest_first_then_reject() -> None:
    (
        an_order()
        .reply(AUTHORIZED)
        .reply(SCHEDULED)
        .reply(PaymentCaptureFailed(reason="card expired"))
        .expect(CancelShipment(country="DE"), to=SHIPPING_COMMANDS)
        .reply(ShipmentCancelled())
        .expect(VOID, to=PAYMENTS_COMMANDS)
        .reply(PaymentVoided())
        .expect(RejectOrder(reason="card expired"), to=ORDERS_COMMANDS)
    )


def test_a_failed_compensation_is_asked_again_not_skipped() -> None:
    voiding = an_order().reply(AUTHORIZED).reply(ShipmentRejected(reason="we do not ship to AQ"))
    voiding.expect(VOID, to=PAYMENTS_COMMANDS).on_attempt(1)
    (
        voiding.reply(PaymentVoidFailed(reason="payments is busy"))
        .expect(VOID, to=PAYMENTS_COMMANDS)
        .on_attempt(2)
        .is_in(SagaState.COMPENSATING)
        .reply(PaymentVoided())
        .expect(RejectOrder(reason="we do not ship to AQ"), to=ORDERS_COMMANDS)
    )


def test_a_compensation_that_keeps_failing_stops_the_saga_for_an_operator() -> None:
    voiding = an_order().reply(AUTHORIZED).reply(ShipmentRejected(reason="we do not ship to AQ"))
    for _ in range(5):
        voiding.reply(PaymentVoidFailed(reason="payments is busy"))
    voiding.ends(SagaState.FAILED)


def test_given_no_answer_to_authorize_expect_void_of_what_may_have_happened_then_reject() -> None:
    (
        an_order()
        .never_answers()
        .expect(VOID, to=PAYMENTS_COMMANDS)
        .reply(PaymentVoided())
        .expect(RejectOrder(reason="the order could not be completed"), to=ORDERS_COMMANDS)
    )


def test_after_the_capture_the_saga_only_goes_forward() -> None:
    captured = (
        an_order().reply(AUTHORIZED).reply(SCHEDULED).reply(PaymentCaptured(payment_id="p", amount=AMOUNT))
    )
    captured.expect(ApproveOrder(), to=ORDERS_COMMANDS).reply(OrderApprovalFailed(reason="no")).ends(
        SagaState.FAILED
    )


def test_given_no_answer_to_the_capture_expect_failed_for_an_operator_not_compensation() -> None:
    an_order().reply(AUTHORIZED).reply(SCHEDULED).never_answers().ends(SagaState.FAILED)


def test_the_pivot_is_the_capture_and_nothing_after_it_can_be_abandoned() -> None:
    assert [step.pivot for step in place_order.steps] == [False, False, True, False]
    assert [place_order.can_abandon_at(index) for index in range(4)] == [True, True, False, False]


def test_the_specification_fails_on_a_saga_that_does_otherwise() -> None:
    """The harness itself: a wrong command, topic, reply or end state is a failure, not a pass."""
    wrong = [
        lambda: an_order().expect(VOID, to=PAYMENTS_COMMANDS),
        lambda: an_order().expect(AUTHORIZE, to=SHIPPING_COMMANDS),
        lambda: an_order().reply(SCHEDULED),  # not an outcome of AuthorizePayment
        lambda: (
            an_order().reply(PaymentDeclined(reason="x")).reply(OrderRejected()).ends(SagaState.COMPLETED)
        ),
        lambda: an_order().reply(AUTHORIZED).ends(SagaState.COMPLETED),
        lambda: an_order().on_attempt(2),
    ]
    for attempt in wrong:
        try:
            attempt()
        except AssertionError:
            continue
        raise AssertionError("a specification that should fail passed")
