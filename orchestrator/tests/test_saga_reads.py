"""The operators' reads of sagas: the type filter, counts by state, and what each step tells (who handles
it, how many attempts it gets, when its current attempt times out)."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

import shop_contracts as contracts
from orchestrator import selectors
from orchestrator.engine import engine
from saga_common.sagas.definition import SagaState
from saga_common.sagas.models import SagaInstance, SagaStep
from tests.test_orchestrator import ORDER_ID, answer, deliver, order_created, saga

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_place_order_v1")]
EVERY_STATE = {state.value for state in SagaState}


@pytest.fixture
def api(operator_api: APIClient) -> APIClient:
    return operator_api


def a_saga(state: SagaState, saga_type: str = "place_order") -> SagaInstance:
    return SagaInstance.objects.create(
        id=uuid.uuid4(),
        saga_type=saga_type,
        order_id=uuid.uuid4().hex,
        state=state,
        data={},
        correlation_id="req",
    )


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_sagas_are_filtered_by_type(api: APIClient) -> None:
    deliver(order_created())
    other = a_saga(SagaState.RUNNING, saga_type="refund_order")
    assert [s["order_id"] for s in api.get("/api/v1/sagas", {"type": "place_order"}).json()["results"]] == [
        ORDER_ID
    ]
    (refund,) = api.get("/api/v1/sagas", {"type": "refund_order"}).json()["results"]
    assert (refund["id"], refund["type"]) == (str(other.id), "refund_order")
    assert api.get("/api/v1/sagas", {"type": "no_such_saga"}).json()["count"] == 0
    assert api.get("/api/v1/sagas").json()["count"] == 2
    both = {"type": "place_order", "state": "COMPLETED"}
    assert api.get("/api/v1/sagas", both).json()["count"] == 0  # filters combine
    assert api.get("/api/v1/sagas", {"type": ""}).status_code == 400
    assert api.get("/api/v1/sagas", {"type": "x" * 65}).status_code == 400


def test_counts_name_every_state_zeros_included(api: APIClient) -> None:
    empty = api.get("/api/v1/sagas/counts")
    assert empty.status_code == 200
    assert empty.json() == {"counts": dict.fromkeys(EVERY_STATE, 0), "total": 0}
    for state in (SagaState.RUNNING, SagaState.RUNNING, SagaState.FAILED, SagaState.COMPLETED):
        a_saga(state)
    a_saga(SagaState.RUNNING, saga_type="refund_order")
    counts = api.get("/api/v1/sagas/counts").json()
    assert counts == {
        "counts": {"RUNNING": 3, "COMPENSATING": 0, "COMPLETED": 1, "COMPENSATED": 0, "FAILED": 1},
        "total": 5,
    }
    of_type = api.get("/api/v1/sagas/counts", {"type": "refund_order"}).json()
    assert of_type == {"counts": {**dict.fromkeys(EVERY_STATE, 0), "RUNNING": 1}, "total": 1}
    assert api.get("/api/v1/sagas/counts", {"type": ""}).status_code == 400


def test_counts_are_one_group_by_query(django_assert_num_queries: Any) -> None:
    a_saga(SagaState.RUNNING)
    a_saga(SagaState.COMPENSATED)
    with django_assert_num_queries(1) as context:
        counts = selectors.saga_counts(saga_type="place_order")
    assert "GROUP BY" in context.captured_queries[0]["sql"]
    assert (counts["RUNNING"], counts["COMPENSATED"], counts["FAILED"]) == (1, 1, 0)


def test_counts_are_for_operators_only(client_for: Any) -> None:
    for caller, expected in ((client_for(None), 401), (client_for("c-1"), 403)):
        answered = caller.get("/api/v1/sagas/counts")
        assert (answered.status_code, answered["Content-Type"]) == (expected, "application/json")
    assert client_for("ops", operator=True).get("/api/v1/sagas/counts").status_code == 200


def test_each_step_names_its_participant_attempts_and_deadline(api: APIClient) -> None:
    deliver(order_created())
    (waiting,) = saga(api)["steps"]
    assert (waiting["name"], waiting["participant"], waiting["attempts"], waiting["max_attempts"]) == (
        "authorize_payment",
        "payments",
        1,
        settings.SAGA_STEP_MAX_ATTEMPTS,
    )
    # the first attempt times out after the policy's timeout
    waited = when(waiting["deadline_at"]) - when(waiting["started_at"])
    assert waited == timedelta(seconds=settings.SAGA_STEP_TIMEOUT_SECONDS)
    answer(contracts.PaymentAuthorized(payment_id="p-1", amount=Decimal("25.00")))
    answer(contracts.ShipmentScheduled(shipment_id="s-1"))
    answer(contracts.PaymentCaptured(payment_id="p-1", amount=Decimal("25.00")))
    steps = saga(api)["steps"]
    assert [(s["name"], s["participant"]) for s in steps] == [
        ("authorize_payment", "payments"),
        ("schedule_shipment", "shipping"),
        ("capture_payment", "payments"),
        ("approve_order", "orders"),
    ]
    assert [s["deadline_at"] is None for s in steps] == [True, True, True, False]  # only one waits
    detail = api.get(f"/api/v1/sagas/{saga(api)['id']}").json()
    assert detail["steps"] == steps  # the detail tells the same


def test_compensations_name_their_participant_too(api: APIClient) -> None:
    deliver(order_created("AQ"))
    answer(contracts.PaymentAuthorized(payment_id="p-1", amount=Decimal("25.00")))
    answer(contracts.ShipmentRejected(reason="we do not ship to AQ"))
    answer(contracts.PaymentVoided())
    kinds = [(s["name"], s["kind"], s["participant"]) for s in saga(api)["steps"]]
    assert kinds[2:] == [("void_payment", "COMPENSATION", "payments"), ("reject_order", "FINAL", "orders")]


def test_an_operator_retry_grants_a_new_round_of_attempts(api: APIClient) -> None:
    # given a saga whose pivot (capture) never answers, however often it is asked
    deliver(order_created())
    answer(contracts.PaymentAuthorized(payment_id="p-1", amount=Decimal("25.00")))
    answer(contracts.ShipmentScheduled(shipment_id="s-1"))
    rounds = 0
    while saga(api)["state"] != "FAILED":
        engine.expire_due_steps(now=timezone.now() + timedelta(days=1))
        rounds += 1
        assert rounds <= settings.SAGA_STEP_MAX_ATTEMPTS
    capture = saga(api)["steps"][-1]
    assert (capture["status"], capture["attempts"], capture["max_attempts"], capture["deadline_at"]) == (
        "TIMED_OUT",
        settings.SAGA_STEP_MAX_ATTEMPTS,
        settings.SAGA_STEP_MAX_ATTEMPTS,
        None,
    )
    # when an operator retries it, the step gets as many attempts again, counted on from the last
    retried = api.post(f"/api/v1/sagas/{saga(api)['id']}/retry").json()["steps"][-1]
    assert (retried["status"], retried["attempts"], retried["max_attempts"]) == (
        "STARTED",
        settings.SAGA_STEP_MAX_ATTEMPTS + 1,
        2 * settings.SAGA_STEP_MAX_ATTEMPTS,
    )
    assert retried["deadline_at"] is not None


def test_a_step_of_a_command_this_version_no_longer_knows_has_no_participant(api: APIClient) -> None:
    deliver(order_created())
    SagaStep.objects.filter(name="authorize_payment").update(command_type="ReserveStock")
    assert saga(api)["steps"][0]["participant"] is None
    assert selectors.step_participant("CancelShipment") == "shipping"
