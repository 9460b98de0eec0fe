"""Every operator action in every saga state, and two operators acting at once.

What an operator may do (the rule the engine enforces, see ``SagaEngine.retry``/``compensate``):
- before the pivot's command is sent, ``compensate`` abandons a RUNNING saga (its pending step is
  undone too); ``retry`` of a saga that is already moving returns it unchanged;
- once the pivot's command is sent (pending, or FAILED at or after the pivot), only forward recovery:
  ``retry`` sends the stopped step again; ``compensate`` is refused, since the pivot may have taken
  effect (money captured) and could not be undone;
- a FAILED compensation can be resumed by either action;
- COMPLETED and COMPENSATED sagas are finished: ``retry`` is refused, ``compensate`` of a COMPENSATED
  saga returns it unchanged.
"""

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

import shop_contracts as contracts
from saga_common.errors import DomainError
from saga_common.sagas.definition import RetryPolicy, SagaState
from saga_common.sagas.engine import SagaEngine
from saga_common.sagas.models import SagaInstance, StepStatus
from saga_common.web.errors import status_of
from tests.example_saga import example_saga
from tests.integration.saga_driver import SagaDriver

POLICY = RetryPolicy(timeout=2.0, max_attempts=2, max_wait=5.0)
SAGA = example_saga()
AUTHORIZED = contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99"))
SCHEDULED = contracts.ShipmentScheduled(shipment_id="s")
CAPTURED = contracts.PaymentCaptured(payment_id="p", amount=Decimal("9.99"))


def driver() -> SagaDriver:
    return SagaDriver(SagaEngine([SAGA], POLICY), SAGA)


def give_up(d: SagaDriver) -> None:
    """Let the waiting step go unanswered through all of its attempts."""
    for _ in range(POLICY.max_attempts):
        d.pass_deadlines()


# Each builder brings a fresh saga to one situation and returns its driver.
def waiting_on_authorize() -> SagaDriver:
    d = driver()
    d.start()
    return d


def waiting_on_schedule() -> SagaDriver:
    d = waiting_on_authorize()
    d.answer(AUTHORIZED)
    return d


def waiting_on_pivot() -> SagaDriver:
    d = waiting_on_schedule()
    d.answer(SCHEDULED)
    return d


def waiting_on_approve() -> SagaDriver:
    d = waiting_on_pivot()
    d.answer(CAPTURED)
    return d


def compensating() -> SagaDriver:
    d = waiting_on_schedule()
    d.answer(contracts.ShipmentRejected(reason="AQ"))
    return d


def completed() -> SagaDriver:
    d = waiting_on_approve()
    d.answer(contracts.OrderApproved())
    return d


def compensated() -> SagaDriver:
    d = compensating()
    d.answer(contracts.PaymentVoided())
    d.answer(contracts.OrderRejected())
    return d


def failed_at_pivot() -> SagaDriver:
    d = waiting_on_pivot()
    give_up(d)
    return d


def failed_after_pivot() -> SagaDriver:
    d = waiting_on_approve()
    give_up(d)
    return d


def failed_in_compensation() -> SagaDriver:
    d = compensating()
    give_up(d)
    return d


REFUSED = "refused"
UNCHANGED = "unchanged"
# (situation, its state, action) -> REFUSED, UNCHANGED, or (command sent, state after)
MATRIX: list[tuple[Callable[[], SagaDriver], SagaState, str, object]] = [
    (waiting_on_authorize, SagaState.RUNNING, "retry", UNCHANGED),
    (waiting_on_authorize, SagaState.RUNNING, "compensate", ("VoidPayment", SagaState.COMPENSATING)),
    (waiting_on_schedule, SagaState.RUNNING, "retry", UNCHANGED),
    (waiting_on_schedule, SagaState.RUNNING, "compensate", ("CancelShipment", SagaState.COMPENSATING)),
    (waiting_on_pivot, SagaState.RUNNING, "retry", UNCHANGED),
    (waiting_on_pivot, SagaState.RUNNING, "compensate", REFUSED),
    (waiting_on_approve, SagaState.RUNNING, "retry", UNCHANGED),
    (waiting_on_approve, SagaState.RUNNING, "compensate", REFUSED),
    (compensating, SagaState.COMPENSATING, "retry", UNCHANGED),
    (compensating, SagaState.COMPENSATING, "compensate", UNCHANGED),
    (completed, SagaState.COMPLETED, "retry", REFUSED),
    (completed, SagaState.COMPLETED, "compensate", REFUSED),
    (compensated, SagaState.COMPENSATED, "retry", REFUSED),
    (compensated, SagaState.COMPENSATED, "compensate", UNCHANGED),
    (failed_at_pivot, SagaState.FAILED, "retry", ("CapturePayment", SagaState.RUNNING)),
    (failed_at_pivot, SagaState.FAILED, "compensate", REFUSED),
    (failed_after_pivot, SagaState.FAILED, "retry", ("ApproveOrder", SagaState.RUNNING)),
    (failed_after_pivot, SagaState.FAILED, "compensate", REFUSED),
    (failed_in_compensation, SagaState.FAILED, "retry", ("VoidPayment", SagaState.COMPENSATING)),
    (failed_in_compensation, SagaState.FAILED, "compensate", ("VoidPayment", SagaState.COMPENSATING)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("situation", "state", "action", "expected"),
    MATRIX,
    ids=[f"{situation.__name__}-{action}" for situation, _, action, _ in MATRIX],
)
def test_operator_action_in_every_state(
    situation: Callable[[], SagaDriver], state: SagaState, action: str, expected: object
) -> None:
    # given
    d = situation()
    saga_id = d.state().id
    assert d.state().state == state
    sent_before, steps_before = d.sent(), list(d.state().steps.values_list("status", "attempts"))
    # when / then
    if expected == REFUSED:
        with pytest.raises(DomainError) as refusal:
            getattr(d.engine, action)(saga_id)
        assert status_of(refusal.value) == 409
        assert d.state().state == state
    else:
        getattr(d.engine, action)(saga_id)
    if expected in (REFUSED, UNCHANGED):
        assert d.sent() == sent_before  # a refused or idempotent action sends nothing
        assert list(d.state().steps.values_list("status", "attempts")) == steps_before
        assert d.state().state == state
    else:
        assert isinstance(expected, tuple)
        command, state_after = expected
        assert d.sent() == [*sent_before, command]
        assert d.state().state == state_after


@pytest.mark.django_db
def test_compensate_refused_at_the_pivot_lets_the_capture_finish_the_saga() -> None:
    # given the pivot's CapturePayment is on its way
    d = waiting_on_pivot()
    # when an operator asks to compensate, it is refused
    with pytest.raises(DomainError, match="can only go forward"):
        d.engine.compensate(d.state().id)
    # then the capture's reply moves the saga on, and nothing is ever voided or cancelled
    d.answer(CAPTURED)
    d.answer(contracts.OrderApproved())
    assert d.state().state == SagaState.COMPLETED
    assert not {"VoidPayment", "CancelShipment"} & set(d.sent())


@pytest.mark.django_db
def test_a_failed_pivot_brought_home_by_retry_completes() -> None:
    d = failed_at_pivot()
    d.engine.retry(d.state().id)
    step = d.state().steps.get(name="capture")
    assert (step.status, step.attempts, step.give_up_after) == (StepStatus.STARTED, 3, 4)
    d.answer(CAPTURED)
    d.answer(contracts.OrderApproved())
    assert d.state().state == SagaState.COMPLETED


def _at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads (each its own connection) released together; return each outcome."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            outcomes[i] = call()
        except DomainError as refusal:
            outcomes[i] = refusal
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.mark.django_db(transaction=True)  # the operators' threads must see the committed saga
def test_two_operators_compensating_at_once_send_one_compensation() -> None:
    d = waiting_on_schedule()
    saga_id = d.state().id
    outcomes = _at_once(lambda: d.engine.compensate(saga_id), lambda: d.engine.compensate(saga_id))
    assert all(isinstance(o, SagaInstance) for o in outcomes)
    assert d.sent().count("CancelShipment") == 1
    assert d.state().state == SagaState.COMPENSATING


@pytest.mark.django_db(transaction=True)
def test_two_operators_retrying_a_failed_pivot_at_once_send_one_command() -> None:
    d = failed_at_pivot()
    saga_id = d.state().id
    sent = d.sent().count("CapturePayment")
    outcomes = _at_once(lambda: d.engine.retry(saga_id), lambda: d.engine.retry(saga_id))
    assert all(isinstance(o, SagaInstance) for o in outcomes)
    assert d.sent().count("CapturePayment") == sent + 1
    assert d.state().state == SagaState.RUNNING


@pytest.mark.django_db(transaction=True)
def test_retry_and_compensate_at_once_on_a_failed_pivot_only_ever_go_forward() -> None:
    d = failed_at_pivot()
    saga_id = d.state().id
    retried, compensated_ = _at_once(lambda: d.engine.retry(saga_id), lambda: d.engine.compensate(saga_id))
    assert isinstance(retried, SagaInstance)
    assert isinstance(compensated_, DomainError)
    assert status_of(compensated_) == 409
    assert not {"VoidPayment", "CancelShipment"} & set(d.sent())
    assert d.state().state == SagaState.RUNNING
