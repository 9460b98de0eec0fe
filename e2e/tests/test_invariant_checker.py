"""The invariant checker itself, on hand-made rows: it must catch each kind of inconsistency."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from e2e.invariants import Snapshot, check, check_intents


def consistent() -> Snapshot:
    return Snapshot(
        orders=[
            {"id": "a", "status": "APPROVED", "total": Decimal("25.00"), "currency": "EUR"},
            {"id": "r", "status": "REJECTED", "total": Decimal("9.00"), "currency": "EUR"},
        ],
        payments=[
            {
                "order_id": "a",
                "customer_id": "c",
                "status": "CAPTURED",
                "amount": Decimal("25.00"),
                "currency": "EUR",
            },
            {
                "order_id": "r",
                "customer_id": "c",
                "status": "VOIDED",
                "amount": Decimal("9.00"),
                "currency": "EUR",
            },
        ],
        shipments=[{"order_id": "a", "status": "SCHEDULED"}],
        sagas=[{"order_id": "a", "state": "COMPLETED"}, {"order_id": "r", "state": "COMPENSATED"}],
        unpublished={"orders": 0},
        accounts=[{"customer_id": "c", "credit_limit": Decimal("30.00"), "held": Decimal("25.00")}],
    )


def test_a_consistent_system_has_no_violations() -> None:
    assert check(consistent()) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda s: s.sagas.pop(), "has 0 sagas"),
        (lambda s: s.sagas.append({"order_id": "a", "state": "COMPLETED"}), "has 2 sagas"),
        (
            lambda s: s.sagas.__setitem__(0, {"order_id": "a", "state": "COMPENSATED"}),
            "but its saga is COMPENSATED",
        ),
        (lambda s: s.orders[0].update(status="PENDING"), "still PENDING"),
        (lambda s: s.payments[0].update(amount=Decimal("24.99")), "not one capture of the total"),
        (
            lambda s: s.payments.append(
                {
                    "order_id": "a",
                    "customer_id": "c",
                    "status": "CAPTURED",
                    "amount": Decimal("25.00"),
                    "currency": "EUR",
                }
            ),
            "not one capture of the total",
        ),
        (lambda s: s.shipments.clear(), "0 scheduled shipments"),
        (lambda s: s.payments[1].update(status="AUTHORIZED"), "still holds money"),
        (lambda s: s.shipments.append({"order_id": "r", "status": "SCHEDULED"}), "has a scheduled shipment"),
        (
            lambda s: s.payments.append(
                {
                    "order_id": "x",
                    "customer_id": "c",
                    "status": "CAPTURED",
                    "amount": Decimal("1.00"),
                    "currency": "EUR",
                }
            ),
            "captured",
        ),
        (
            lambda s: s.payments.append(
                {
                    "order_id": "x",
                    "customer_id": "c",
                    "status": "AUTHORIZED",
                    "amount": Decimal("1.00"),
                    "currency": "EUR",
                }
            ),
            "belong to no order (x)",
        ),
        (lambda s: s.shipments.append({"order_id": "x", "status": "SCHEDULED"}), "belong to no order (x)"),
        (lambda s: s.shipments.append({"order_id": "a", "status": "CANCELLED"}), "order a has 2 shipments"),
        (
            lambda s: s.payments.append(
                {
                    "order_id": "r",
                    "customer_id": "c",
                    "status": "VOIDED",
                    "amount": Decimal("9.00"),
                    "currency": "EUR",
                }
            ),
            "order r has 2 payments",
        ),
        (lambda s: s.accounts[0].update(held=Decimal("34.00")), "account c holds 34.00, its payments 25.00"),
        (
            lambda s: s.accounts[0].update(credit_limit=Decimal("20.00")),
            "account c has negative available credit",
        ),
        (lambda s: s.sagas.append({"order_id": "zzz", "state": "RUNNING"}), "saga for unknown order"),
        (lambda s: s.unpublished.update(orders=3), "unpublished outbox rows"),
    ],
)
def test_each_kind_of_inconsistency_is_reported(breakage: object, expected: str) -> None:
    state = consistent()
    breakage(state)  # type: ignore[operator]
    violations = check(state)
    assert any(expected in v for v in violations), violations


GAVE_UP_AT = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def gave_up(state: Snapshot, event: str = "StepTimedOut", step: str = "authorize_payment") -> None:
    detail = f"{step}: no reply to 3 attempts"
    state.interventions.append({"order_id": "r", "event": event, "detail": detail, "at": GAVE_UP_AT})


def payments_stopped(step: str, at: datetime) -> bool:
    """A fault stopped payments from 10 s before the give-up until it."""
    return step.endswith("_payment") and GAVE_UP_AT - timedelta(seconds=10) <= at <= GAVE_UP_AT


def test_orders_that_end_as_meant_pass() -> None:
    assert check_intents(consistent(), {"a": True, "r": False}) == []


def test_an_order_that_could_not_be_approved_but_was_is_reported() -> None:
    assert check_intents(consistent(), {"a": False}) == ["order a was approved, though it could not be"]


def test_an_approvable_order_rejected_without_cause_is_reported() -> None:
    assert check_intents(consistent(), {"r": True}) == [
        "order r was rejected with nothing injected to explain it"
    ]


def test_a_rejection_explained_by_a_give_up_during_a_fault_passes() -> None:
    state = consistent()
    gave_up(state)
    assert check_intents(state, {"r": True}, payments_stopped) == []


def test_a_give_up_on_a_participant_no_fault_stopped_is_reported() -> None:
    state = consistent()
    gave_up(state, step="schedule_shipment")
    assert check_intents(state, {"r": True}, payments_stopped) != []


def test_a_rejection_explained_by_an_operator_passes() -> None:
    state = consistent()
    gave_up(state, event="OperatorCompensate", step="abandoned authorize_payment")
    assert check_intents(state, {"r": True}) == []
