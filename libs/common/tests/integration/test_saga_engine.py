"""The saga engine against the real PostgreSQL: state, step history and commands in the outbox."""

import uuid
from decimal import Decimal

import pytest

import shop_contracts as contracts
from saga_common.errors import DomainError
from saga_common.sagas.definition import SagaState
from saga_common.sagas.engine import SagaEngine, saga_id_for
from saga_common.sagas.models import SagaInstance, StepStatus
from saga_testing.messages import outbox_messages, wrap
from tests.example_saga import example_saga
from tests.integration.saga_driver import SagaDriver

pytestmark = pytest.mark.django_db


SAGA = example_saga()
engine = SagaEngine([SAGA])
driver = SagaDriver(engine, SAGA)
start, answer, state = driver.start, driver.answer, driver.state


def test_happy_path_sends_every_step_in_order_and_completes() -> None:
    instance = start()
    answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    answer(contracts.ShipmentScheduled(shipment_id="s"))
    answer(contracts.PaymentCaptured(payment_id="p", amount=Decimal("9.99")))
    answer(contracts.OrderApproved())
    assert [e.type for e in outbox_messages()] == [
        "AuthorizePayment",
        "ScheduleShipment",
        "CapturePayment",
        "ApproveOrder",
    ]
    assert all(e.saga_id == str(instance.id) and e.correlation_id == "k" for e in outbox_messages())
    final = state()
    assert (final.state, final.current_step) == (SagaState.COMPLETED, "")
    assert [s.status for s in final.steps.all()] == [StepStatus.SUCCEEDED] * 4


def test_failed_pivot_compensates_in_reverse_order_then_rejects() -> None:
    start()
    answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    answer(contracts.ShipmentScheduled(shipment_id="s"))
    answer(contracts.PaymentCaptureFailed(reason="card expired"))
    assert state().state == SagaState.COMPENSATING
    answer(contracts.ShipmentCancelled())
    answer(contracts.PaymentVoided())
    answer(contracts.OrderRejected())
    assert [e.type for e in outbox_messages()] == [
        "AuthorizePayment",
        "ScheduleShipment",
        "CapturePayment",
        "CancelShipment",
        "VoidPayment",
        "RejectOrder",
    ]
    assert outbox_messages()[-1].payload == {"reason": "card expired"}
    final = state()
    assert final.state == SagaState.COMPENSATED
    assert [(s.name, s.status) for s in final.steps.all()] == [
        ("authorize", "SUCCEEDED"),
        ("schedule", "SUCCEEDED"),
        ("capture", "FAILED"),
        ("cancel", "SUCCEEDED"),
        ("void", "SUCCEEDED"),
        ("reject", "SUCCEEDED"),
    ]


def test_second_start_for_the_same_order_is_ignored() -> None:
    first, second = start(), start()
    assert first.id == second.id == saga_id_for("example", "o-1")
    assert SagaInstance.objects.count() == 1
    assert [e.type for e in outbox_messages()] == ["AuthorizePayment"]


def test_stale_duplicate_and_foreign_replies_change_nothing() -> None:
    start()
    answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    authorize_command = outbox_messages()[0]
    # a second reply to the finished authorize step
    engine.handle_reply(
        wrap(
            contracts.PaymentDeclined(reason="late"),
            order_id="o-1",
            correlation_id="k",
            saga_id=authorize_command.saga_id,
            causation=authorize_command,
        )
    )
    # a reply type the waiting command cannot have
    answer(contracts.PaymentVoided())
    # a reply for a saga that does not exist
    engine.handle_reply(
        wrap(
            contracts.OrderApproved(),
            order_id="o-1",
            correlation_id="k",
            saga_id=str(uuid.uuid4()),
            causation=authorize_command,
        )
    )
    final = state()
    assert (final.state, final.current_step) == (SagaState.RUNNING, "schedule")
    assert [e.type for e in outbox_messages()] == ["AuthorizePayment", "ScheduleShipment"]
    assert list(final.history.filter(event="ReplyIgnored").values_list("message_type", flat=True)) == [
        "PaymentDeclined",
        "PaymentVoided",
    ]


def test_operator_compensates_a_running_saga_including_its_pending_step() -> None:
    instance = start()
    answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    engine.compensate(instance.id)
    # the pending shipment may have happened: it is cancelled too, then the payment voided
    assert [e.type for e in outbox_messages()][-1] == "CancelShipment"
    answer(contracts.ShipmentCancelled())
    answer(contracts.PaymentVoided())
    answer(contracts.OrderRejected())
    assert state().state == SagaState.COMPENSATED
    sent = len(outbox_messages())
    assert engine.compensate(instance.id).state == SagaState.COMPENSATED  # idempotent: nothing more
    assert len(outbox_messages()) == sent


def test_failure_past_the_pivot_waits_for_an_operator_retry() -> None:
    instance = start()
    answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    answer(contracts.ShipmentScheduled(shipment_id="s"))
    answer(contracts.PaymentCaptured(payment_id="p", amount=Decimal("9.99")))
    with pytest.raises(DomainError, match="can only go forward"):
        engine.compensate(instance.id)
    # a failure on a step past the pivot: simulate it by failing the pending step by hand
    step = state().steps.get(status=StepStatus.STARTED)
    step.status = StepStatus.FAILED
    step.save()
    SagaInstance.objects.filter(id=instance.id).update(state=SagaState.FAILED)
    # when the operator retries, the same command goes out again as attempt 2 with a new id
    engine.retry(instance.id)
    retried = state().steps.get(name="approve")
    assert (retried.status, retried.attempts) == (StepStatus.STARTED, 2)
    assert [e.type for e in outbox_messages()][-2:] == ["ApproveOrder", "ApproveOrder"]
    assert outbox_messages()[-1].id != outbox_messages()[-2].id
    answer(contracts.OrderApproved())
    assert state().state == SagaState.COMPLETED
    with pytest.raises(DomainError):
        engine.retry(instance.id)
