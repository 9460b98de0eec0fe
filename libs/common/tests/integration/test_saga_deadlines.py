"""Step deadlines, retries with backoff, giving up, late replies and failed compensations.

Time is moved by setting the persisted deadlines into the past (``pass_deadlines``), which is also
how a restarted orchestrator finds them: every sweep here runs through a fresh engine object.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

import shop_contracts as contracts
from saga_common.sagas import deadlines
from saga_common.sagas.definition import RetryPolicy, SagaState
from saga_common.sagas.engine import SagaEngine
from saga_common.sagas.models import SagaStep, StepStatus
from saga_common.sagas.registry import SagaRegistry
from saga_common.sagas.run import SagaRun
from saga_testing.messages import outbox_messages
from tests.example_saga import example_saga
from tests.integration.saga_driver import SagaDriver

pytestmark = pytest.mark.django_db

POLICY = RetryPolicy(timeout=2.0, max_attempts=3, max_wait=5.0)
SAGA = example_saga()


def restarted_engine() -> SagaDriver:
    """A new engine object, as after an orchestrator restart: nothing is kept in memory."""
    return SagaDriver(SagaEngine([SAGA], POLICY), SAGA)


def test_retry_policy_doubles_the_wait_up_to_its_cap() -> None:
    assert [POLICY.wait(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 5.0, 5.0]
    assert POLICY.wait(2, timeout=0.5) == 1.0


def test_each_command_gets_a_persisted_deadline_from_the_policy() -> None:
    restarted_engine().start()
    step = SagaStep.objects.get()
    assert step.deadline_at is not None
    assert (step.deadline_at - step.started_at).total_seconds() == pytest.approx(2.0)
    assert step.give_up_after == 3


def test_an_unanswered_step_is_sent_again_with_new_ids_then_compensated() -> None:
    restarted_engine().start()
    assert restarted_engine().pass_deadlines() == 1
    assert restarted_engine().pass_deadlines() == 1
    step = SagaStep.objects.get()
    assert (step.status, step.attempts) == (StepStatus.STARTED, 3)
    assert step.deadline_at is not None
    assert (step.deadline_at - step.started_at).total_seconds() == pytest.approx(5.0)  # 2, 4, capped 5
    commands = outbox_messages()
    assert [c.type for c in commands] == ["AuthorizePayment"] * 3
    assert len({c.id for c in commands}) == 3  # a participant sees three distinct commands
    # the third attempt goes unanswered too: give up, and undo the step itself (it may have happened)
    driver = restarted_engine()
    driver.pass_deadlines()
    assert SagaStep.objects.get(position=0).status == StepStatus.TIMED_OUT
    assert (driver.state().state, driver.sent()[-1]) == (SagaState.COMPENSATING, "VoidPayment")
    driver.answer(contracts.PaymentVoided())
    driver.answer(contracts.OrderRejected())
    assert driver.state().state == SagaState.COMPENSATED
    assert driver.pass_deadlines() == 0  # nothing left waiting


def test_a_reply_to_an_earlier_attempt_answers_the_step() -> None:
    driver = restarted_engine()
    driver.start()
    first_attempt = outbox_messages()[0]
    driver.pass_deadlines()
    driver.answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")), first_attempt)
    assert driver.state().current_step == "schedule"
    # the second attempt's answer arrives too: the step is done, so it changes nothing
    driver.answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")), outbox_messages()[1])
    assert driver.sent() == ["AuthorizePayment", "AuthorizePayment", "ScheduleShipment"]
    assert driver.state().history.filter(event="ReplyIgnored").count() == 1


def test_an_authorization_arriving_after_the_saga_gave_up_is_voided() -> None:
    driver = restarted_engine()
    driver.start()
    for _ in range(3):
        driver.pass_deadlines()
    driver.answer(contracts.PaymentVoided())
    driver.answer(contracts.OrderRejected())
    # now payments finally processes the first AuthorizePayment and says yes
    driver.answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")), outbox_messages()[0])
    assert driver.sent()[-1] == "VoidPayment"
    assert outbox_messages()[-1].payload["amount"] == "9.99"
    assert driver.state().state == SagaState.COMPENSATED  # the saga itself stays finished
    assert driver.state().history.filter(event="LateReplyCompensated").count() == 1
    # a late refusal has nothing to undo
    driver.answer(contracts.PaymentDeclined(reason="late"), outbox_messages()[1])
    assert driver.sent().count("VoidPayment") == 2


def test_a_silent_pivot_stops_the_saga_for_an_operator_and_a_late_answer_moves_it_on() -> None:
    driver = restarted_engine()
    driver.start()
    driver.answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    driver.answer(contracts.ShipmentScheduled(shipment_id="s"))
    capture_command = outbox_messages()[-1]
    for _ in range(3):
        driver.pass_deadlines()
    assert driver.state().state == SagaState.FAILED  # a capture may have happened: never undo it blindly
    assert "VoidPayment" not in driver.sent()
    driver.answer(contracts.PaymentCaptured(payment_id="p", amount=Decimal("9.99")), capture_command)
    assert (driver.state().state, driver.sent()[-1]) == (SagaState.RUNNING, "ApproveOrder")


def test_a_silent_compensation_fails_the_saga_and_the_operator_resumes_it_idempotently() -> None:
    driver = restarted_engine()
    instance = driver.start()
    driver.answer(contracts.PaymentDeclined(reason="no credit"))
    assert driver.sent()[-1] == "RejectOrder"
    for _ in range(3):
        driver.pass_deadlines()
    assert driver.state().state == SagaState.FAILED
    assert driver.sent().count("RejectOrder") == 3
    # the operator asks for compensation twice (say, a client retry): one more command, not two
    driver.engine.compensate(instance.id)
    driver.engine.compensate(instance.id)
    assert driver.sent().count("RejectOrder") == 4
    assert driver.state().state == SagaState.COMPENSATING
    step = driver.state().steps.get(name="reject")
    assert (step.attempts, step.give_up_after) == (4, 6)  # a fresh round of attempts
    driver.answer(contracts.OrderRejected())
    assert driver.state().state == SagaState.COMPENSATED


def test_the_operator_retry_is_idempotent_too() -> None:
    driver = restarted_engine()
    instance = driver.start()
    driver.answer(contracts.PaymentDeclined(reason="no credit"))
    for _ in range(3):
        driver.pass_deadlines()
    driver.engine.retry(instance.id)
    driver.engine.retry(instance.id)
    assert driver.sent().count("RejectOrder") == 4


def test_a_compensation_that_answers_failure_is_asked_again_after_a_backoff() -> None:
    driver = SagaDriver(SagaEngine([SAGA], POLICY), SAGA)
    driver.start()
    driver.answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    driver.answer(contracts.ShipmentRejected(reason="we do not ship to AQ"))
    driver.answer(contracts.PaymentVoidFailed(reason="payments is busy"))
    step = driver.state().steps.get(name="void")
    assert step.status == StepStatus.RETRY_WAIT
    assert driver.state().state == SagaState.COMPENSATING
    assert driver.sent().count("VoidPayment") == 1  # nothing until the backoff has passed
    driver.pass_deadlines()
    assert driver.sent().count("VoidPayment") == 2
    driver.answer(contracts.PaymentVoided())
    driver.answer(contracts.OrderRejected())
    assert driver.state().state == SagaState.COMPENSATED


@pytest.mark.django_db(transaction=True)  # the other connection must see the committed saga
def test_the_sweeper_skips_a_saga_another_worker_holds() -> None:
    from django.db import connections

    driver = restarted_engine()
    instance = driver.start()
    SagaStep.objects.update(deadline_at=SagaStep.objects.get().started_at)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT 1 FROM saga_instance WHERE id = %s FOR UPDATE", [instance.id])
            assert driver.engine.expire_due_steps() == 0
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert driver.engine.expire_due_steps() == 1


def test_a_deadline_is_judged_only_up_to_where_the_replies_were_read() -> None:
    driver = restarted_engine()
    driver.start()
    # the deadline passed 5 s ago, but the orchestrator's consumer has read replies only up to 10 s
    # ago: a reply may be waiting in its backlog, so nothing is resent yet
    SagaStep.objects.update(deadline_at=timezone.now() - timedelta(seconds=5))
    assert driver.engine.expire_due_steps(now=timezone.now() - timedelta(seconds=10)) == 0
    assert driver.sent() == ["AuthorizePayment"]
    # once it has read past the deadline, the silent step is asked again
    assert driver.engine.expire_due_steps(now=timezone.now()) == 1
    assert driver.sent() == ["AuthorizePayment", "AuthorizePayment"]


def test_a_saga_whose_overdue_step_cannot_be_handled_does_not_stop_the_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given two overdue sagas, the first of which cannot move (its data no longer builds a command)
    driver = restarted_engine()
    stuck, fine = driver.start("o-stuck"), driver.start("o-fine")
    SagaStep.objects.filter(saga=stuck).update(deadline_at=timezone.now() - timedelta(seconds=9))
    SagaStep.objects.filter(saga=fine).update(deadline_at=timezone.now() - timedelta(seconds=5))
    real = deadlines._step_overdue

    def overdue(run: SagaRun, step: SagaStep) -> None:
        if run.instance.id == stuck.id:
            raise ValueError("cannot build the command")
        real(run, step)

    monkeypatch.setattr(deadlines, "_step_overdue", overdue)
    # when the sweep runs, then the other saga is still asked again
    assert driver.engine.expire_due_steps() == 1
    assert [e.order_id for e in outbox_messages()].count("o-fine") == 2


def test_a_lagging_partition_with_many_overdue_steps_does_not_starve_the_others() -> None:
    # given 30 overdue sagas whose replies sit on a lagging partition (handled up to an hour ago), due
    # before the one overdue saga on a healthy partition
    driver = restarted_engine()
    lagging = [driver.start(f"o-lag-{i}") for i in range(30)]
    healthy = driver.start("o-healthy")
    for i, instance in enumerate(lagging):
        SagaStep.objects.filter(saga=instance).update(deadline_at=timezone.now() - timedelta(seconds=60 - i))
    SagaStep.objects.filter(saga=healthy).update(deadline_at=timezone.now() - timedelta(seconds=5))
    an_hour_ago = timezone.now() - timedelta(hours=1)

    def handled_until(order_id: str) -> datetime | None:
        return an_hour_ago if order_id.startswith("o-lag") else timezone.now()

    # when the sweep reads fewer steps at a time than wait on the lagging partition
    swept = deadlines.expire_due_steps(
        SagaRegistry([SAGA]), POLICY, limit=2, replies_handled_until=handled_until, page=7
    )
    # then the healthy partition's step is still asked again, and no lagging one is
    assert swept == 1
    assert [e.order_id for e in outbox_messages()].count("o-healthy") == 2
    assert all([e.order_id for e in outbox_messages()].count(i.order_id) == 1 for i in lagging)
