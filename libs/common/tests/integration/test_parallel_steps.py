"""Parallel steps on the real PostgreSQL: sent together, joined, compensated branch by branch, each with
its own deadline, and the operator's actions on a saga waiting on branches."""

from decimal import Decimal

import pytest
from django.db import transaction

import shop_contracts as contracts
from saga_common.messaging.message import Reply
from saga_common.sagas.definition import Saga, SagaState, branch
from saga_common.sagas.engine import SagaEngine
from saga_common.sagas.models import SagaEvent, SagaInstance, StepStatus
from saga_testing.messages import outbox_messages
from tests.example_saga import Data, approve, authorize, example_parallel_saga, void
from tests.integration.saga_driver import SagaDriver

pytestmark = pytest.mark.django_db

SAGA = example_parallel_saga()
engine = SagaEngine([SAGA])
driver = SagaDriver(engine, SAGA)
AMOUNT = Decimal("9.99")
AUTHORIZED = contracts.PaymentAuthorized(payment_id="p", amount=AMOUNT)
SCHEDULED = contracts.ShipmentScheduled(shipment_id="s")


def answer(reply: Reply, command_type: str) -> None:
    driver.answer(reply, driver.command(command_type))


def steps() -> list[tuple[str, str, str]]:
    return [(s.name, s.kind, s.status) for s in driver.state().steps.all()]


def test_both_branches_are_sent_in_one_transaction_and_the_saga_waits_on_both() -> None:
    driver.start()
    assert driver.sent() == ["AuthorizePayment", "ScheduleShipment"]
    saga = driver.state()
    assert (saga.state, saga.current_step) == (SagaState.RUNNING, "authorize+schedule")
    assert steps() == [("authorize", "FORWARD", "STARTED"), ("schedule", "FORWARD", "STARTED")]


def test_the_branches_are_written_in_the_callers_transaction_a_failing_one_sends_none() -> None:
    def unschedulable(data: Data) -> contracts.ScheduleShipment:
        raise RuntimeError("the shipping address is gone")

    broken = Saga("broken", Data).parallel(branch(authorize, compensate=void), unschedulable).step(approve)
    with pytest.raises(RuntimeError), transaction.atomic():  # the inbox's transaction, rolled back
        SagaDriver(SagaEngine([broken]), broken).start()
    # the first branch's command was built and sent before the second failed: it went nowhere
    assert (outbox_messages(), SagaInstance.objects.count()) == ([], 0)


@pytest.mark.parametrize("first", ["AuthorizePayment", "ScheduleShipment"])
def test_the_saga_joins_whichever_branch_answers_first_and_captures_once(first: str) -> None:
    driver.start()
    replies = {"AuthorizePayment": AUTHORIZED, "ScheduleShipment": SCHEDULED}
    second = next(name for name in replies if name != first)
    answer(replies[first], first)
    waiting_for = {"AuthorizePayment": "authorize", "ScheduleShipment": "schedule"}[second]
    assert (len(driver.sent()), driver.state().current_step) == (2, waiting_for)
    answer(replies[second], second)
    assert driver.sent().count("CapturePayment") == 1
    answer(replies[second], second)  # a redelivered reply moves nothing
    assert driver.sent().count("CapturePayment") == 1
    driver.answer(contracts.PaymentCaptured(payment_id="p", amount=AMOUNT))
    driver.answer(contracts.OrderApproved())
    assert driver.state().state == SagaState.COMPLETED


def test_a_refused_branch_compensates_the_one_that_succeeded_and_rejects() -> None:
    driver.start()
    answer(AUTHORIZED, "AuthorizePayment")
    answer(contracts.ShipmentRejected(reason="we do not ship to AQ"), "ScheduleShipment")
    assert driver.sent()[2:] == ["VoidPayment"]  # the refused shipment is not cancelled: it never was
    driver.answer(contracts.PaymentVoided())
    driver.answer(contracts.OrderRejected())
    assert driver.state().state == SagaState.COMPENSATED
    assert driver.sent() == ["AuthorizePayment", "ScheduleShipment", "VoidPayment", "RejectOrder"]


def test_a_branch_waiting_when_the_other_is_refused_is_abandoned_and_undone_again_if_it_succeeds_late() -> (
    None
):
    driver.start()
    answer(contracts.ShipmentRejected(reason="we do not ship to AQ"), "ScheduleShipment")
    assert driver.sent()[2:] == ["VoidPayment"]
    assert steps()[:2] == [
        ("authorize", "FORWARD", StepStatus.ABANDONED),
        ("schedule", "FORWARD", StepStatus.FAILED),
    ]
    # the abandoned authorization succeeds after all (it was applied before the void): undone again
    answer(AUTHORIZED, "AuthorizePayment")
    assert driver.sent()[2:] == ["VoidPayment", "VoidPayment"]
    events = list(SagaEvent.objects.values_list("event", flat=True))
    assert "StepAbandoned" in events
    assert "LateReplyCompensated" in events
    void = next(e for e in outbox_messages() if e.type == "VoidPayment")
    driver.answer(contracts.PaymentVoided(), void)
    driver.answer(contracts.OrderRejected())
    assert driver.state().state == SagaState.COMPENSATED


def test_each_branch_has_its_own_deadline_a_silent_one_is_retried_alone() -> None:
    driver.start()
    answer(AUTHORIZED, "AuthorizePayment")
    assert driver.pass_deadlines() == 1
    assert driver.sent() == ["AuthorizePayment", "ScheduleShipment", "ScheduleShipment"]
    assert [s.attempts for s in driver.state().steps.all()] == [1, 2]


def test_a_branch_given_up_on_while_the_other_succeeded_compensates_both_latest_first(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SAGA_STEP_MAX_ATTEMPTS = 2
    driver.start()
    answer(AUTHORIZED, "AuthorizePayment")
    driver.pass_deadlines()  # schedule: attempt 2
    driver.pass_deadlines()  # schedule: given up
    assert driver.sent()[3:] == ["CancelShipment"]  # it may have taken effect: cancelled first
    driver.answer(contracts.ShipmentCancelled())
    assert driver.sent()[-1] == "VoidPayment"
    driver.answer(contracts.PaymentVoided())
    driver.answer(contracts.OrderRejected())
    assert driver.state().state == SagaState.COMPENSATED
    assert steps()[1] == ("schedule", "FORWARD", StepStatus.TIMED_OUT)


def test_both_branches_silent_both_retried_then_given_up_together(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SAGA_STEP_MAX_ATTEMPTS = 1
    driver.start()
    assert driver.pass_deadlines() == 1  # one saga, both of its overdue branches
    # the first given up compensates; the second is abandoned with it, and compensated too
    assert driver.sent()[2:] == ["CancelShipment"]
    assert [s for _, _, s in steps()[:2]] == [StepStatus.TIMED_OUT, StepStatus.ABANDONED]


def test_an_operator_compensates_a_saga_waiting_on_both_branches() -> None:
    instance = driver.start()
    engine.compensate(instance.id)
    assert driver.sent()[2:] == ["CancelShipment"]
    assert [s for _, _, s in steps()[:2]] == [StepStatus.ABANDONED, StepStatus.ABANDONED]
    driver.answer(contracts.ShipmentCancelled())
    driver.answer(contracts.PaymentVoided())
    driver.answer(contracts.OrderRejected())
    assert driver.state().state == SagaState.COMPENSATED
    engine.compensate(instance.id)  # idempotent
    assert driver.sent().count("CancelShipment") == 1


def test_an_operator_retry_of_a_saga_waiting_on_branches_changes_nothing() -> None:
    instance = driver.start()
    assert engine.retry(instance.id).state == SagaState.RUNNING
    assert driver.sent() == ["AuthorizePayment", "ScheduleShipment"]
