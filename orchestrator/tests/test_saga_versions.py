"""Saga versions on the real database: PlaceOrder v2 (parallel) through the handlers, v1 sagas that
finish on v1 after the default moved to v2, and the start-up check that refuses an orchestrator
without a version some saga still runs."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

import shop_contracts as contracts
from orchestrator.handlers import HANDLERS
from saga_common.checks import STARTUP, refuse_to_start_if_misconfigured
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import handle_once
from saga_common.messaging.message import Reply
from saga_common.sagas.models import SagaInstance
from saga_common.sagas.registry import UnknownSagaVersion
from saga_testing.messages import outbox_messages, wrap

pytestmark = pytest.mark.django_db

AMOUNT = Decimal("25.00")
ORDERS = [f"8d0f2a52-3d3c-4c1e-9d1c-5c1b2a0e9f{n:02d}" for n in range(10)]


def order_created(order_id: str) -> None:
    event = contracts.OrderCreated(
        customer_id="c-1", total=AMOUNT, currency="EUR", shipping_address={"country": "DE"}
    )
    envelope = wrap(event, order_id=order_id, correlation_id=f"req-{order_id[-2:]}")
    handle_once(envelope, HANDLERS[contracts.OrderCreated])


def sent_to(order_id: str) -> list[Envelope]:
    return [e for e in outbox_messages() if e.order_id == order_id]


def answer(order_id: str, reply: Reply, command_type: str | None = None) -> None:
    """Answer the order's latest command (of ``command_type``, if given) as its participant would."""
    command = next(e for e in reversed(sent_to(order_id)) if command_type is None or e.type == command_type)
    envelope = wrap(
        reply,
        order_id=order_id,
        correlation_id=command.correlation_id,
        saga_id=command.saga_id,
        causation=command,
    )
    handle_once(envelope, HANDLERS[type(reply)])


def saga_of(api: APIClient, order_id: str) -> dict[str, Any]:
    (found,) = api.get("/api/v1/sagas", {"order_id": order_id}).json()["results"]
    return found


def run_v1_to_the_end(order_id: str) -> None:
    answer(order_id, contracts.PaymentAuthorized(payment_id="p", amount=AMOUNT))
    answer(order_id, contracts.ShipmentScheduled(shipment_id="s"))
    answer(order_id, contracts.PaymentCaptured(payment_id="p", amount=AMOUNT))
    answer(order_id, contracts.OrderApproved())


def run_v2_to_the_end(order_id: str) -> None:
    answer(order_id, contracts.ShipmentScheduled(shipment_id="s"), "ScheduleShipment")
    answer(order_id, contracts.PaymentAuthorized(payment_id="p", amount=AMOUNT), "AuthorizePayment")
    answer(order_id, contracts.PaymentCaptured(payment_id="p", amount=AMOUNT))
    answer(order_id, contracts.OrderApproved())
    answer(order_id, contracts.ShipmentReleased())


def test_new_orders_run_place_order_v2_in_parallel_by_default(operator_api: APIClient) -> None:
    order_created(ORDERS[0])
    assert [(e.type, e.payload.get("hold_until_released")) for e in sent_to(ORDERS[0])] == [
        ("AuthorizePayment", None),
        ("ScheduleShipment", True),
    ]
    saga = saga_of(operator_api, ORDERS[0])
    assert (saga["type"], saga["version"], saga["current_step"]) == (
        "place_order",
        2,
        "authorize_payment+schedule_held_shipment",
    )
    run_v2_to_the_end(ORDERS[0])
    saga = saga_of(operator_api, ORDERS[0])
    assert (saga["state"], [s["name"] for s in saga["steps"]]) == (
        "COMPLETED",
        [
            "authorize_payment",
            "schedule_held_shipment",
            "capture_payment",
            "approve_order",
            "release_shipment",
        ],
    )


def test_v1_sagas_in_flight_finish_on_v1_while_new_orders_run_v2(
    settings: SettingsWrapper, operator_api: APIClient
) -> None:
    # given sagas started while v1 was the default, one of them a step further than the other
    settings.SAGA_START_VERSIONS = "place_order=1"
    order_created(ORDERS[1])
    order_created(ORDERS[2])
    answer(ORDERS[1], contracts.PaymentAuthorized(payment_id="p", amount=AMOUNT))
    # when the orchestrator starts again with v2 the default
    settings.SAGA_START_VERSIONS = ""
    order_created(ORDERS[3])
    # then the v1 sagas go on one step at a time, with v1's commands, to their end
    assert [e.type for e in sent_to(ORDERS[1])] == ["AuthorizePayment", "ScheduleShipment"]
    assert sent_to(ORDERS[1])[-1].payload["hold_until_released"] is False  # v1 ships at once
    answer(ORDERS[1], contracts.ShipmentScheduled(shipment_id="s"))
    answer(ORDERS[1], contracts.PaymentCaptured(payment_id="p", amount=AMOUNT))
    answer(ORDERS[1], contracts.OrderApproved())
    run_v1_to_the_end(ORDERS[2])
    # and the new order runs v2
    run_v2_to_the_end(ORDERS[3])
    found = {o: saga_of(operator_api, o) for o in ORDERS[1:4]}
    assert {o: (s["version"], s["state"], len(s["steps"])) for o, s in found.items()} == {
        ORDERS[1]: (1, "COMPLETED", 4),
        ORDERS[2]: (1, "COMPLETED", 4),
        ORDERS[3]: (2, "COMPLETED", 5),
    }
    assert operator_api.get("/api/v1/sagas", {"type": "place_order", "version": "1"}).json()["count"] == 2


def test_the_start_up_check_refuses_an_orchestrator_without_a_version_a_saga_still_runs() -> None:
    assert _errors() == []
    order_created(ORDERS[4])
    SagaInstance.objects.filter(order_id=ORDERS[4]).update(version=7)  # a version this build lacks
    order_created(ORDERS[5])
    SagaInstance.objects.filter(order_id=ORDERS[5]).update(saga_type="refund_order")  # a retired type
    (error,) = _errors()
    assert error.id == "saga_common.E007"
    assert "place_order v7 (1 unfinished), refund_order v2 (1 unfinished)" in error.msg
    with pytest.raises(ImproperlyConfigured, match="place_order v7"):
        refuse_to_start_if_misconfigured()
    # sagas that ended need no definition: once they have, the check passes
    SagaInstance.objects.filter(order_id__in=ORDERS[4:6]).update(state="COMPENSATED")
    assert _errors() == []


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("place_order=9", "no definition of saga place_order version 9"),
        ("shipping_saga=1", "no definition of saga shipping_saga version 1"),
        ("place_order", "is not like"),
        ("place_order=two", "is not like"),
    ],
)
def test_the_start_up_check_refuses_start_versions_that_are_not_registered(
    settings: SettingsWrapper, setting: str, message: str
) -> None:
    settings.SAGA_START_VERSIONS = setting
    (error,) = _errors()
    assert (error.id, message in error.msg) == ("saga_common.E008", True)


def test_a_reply_for_a_saga_on_an_unregistered_version_is_refused_and_changes_nothing() -> None:
    order_created(ORDERS[6])
    SagaInstance.objects.filter(order_id=ORDERS[6]).update(version=7)
    with pytest.raises(UnknownSagaVersion, match="place_order version 7"):
        answer(ORDERS[6], contracts.PaymentAuthorized(payment_id="p", amount=AMOUNT), "AuthorizePayment")
    assert len(sent_to(ORDERS[6])) == 2  # nothing sent: the inbox retries it, then dead-letters it


def _errors() -> list[Any]:
    """The saga versions' start-up errors (the test settings fail other checks: development keys)."""
    found = run_checks(tags=[STARTUP], include_deployment_checks=True)
    return [m for m in found if m.is_serious() and m.id in ("saga_common.E007", "saga_common.E008")]


def test_the_definitions_list_every_version_with_its_steps_and_how_many_sagas_run_it(
    settings: SettingsWrapper, operator_api: APIClient, client_for: Any
) -> None:
    settings.SAGA_START_VERSIONS = "place_order=1"
    order_created(ORDERS[7])
    settings.SAGA_START_VERSIONS = ""
    found = operator_api.get("/api/v1/sagas/definitions").json()
    assert [(d["type"], d["version"], d["starts_new_sagas"], d["unfinished"]) for d in found] == [
        ("cancel_order", 1, True, 0),
        ("place_order", 1, False, 1),
        ("place_order", 2, True, 0),
    ]
    v2 = found[2]
    assert v2["groups"] == [[0, 1], [2], [3], [4]]
    assert (v2["pivot"], v2["on_compensated"]["command"]) == (2, "RejectOrder")
    first = v2["steps"][0]
    assert {k: first[k] for k in ("name", "command", "participant", "parallel", "pivot")} == {
        "name": "authorize_payment",
        "command": "AuthorizePayment",
        "participant": "payments",
        "parallel": True,
        "pivot": False,
    }
    assert (first["compensation"]["command"], first["reply_hooks"]) == ("VoidPayment", ["PaymentDeclined"])
    assert first["replies"] == ["PaymentAuthorized", "PaymentDeclined"]
    assert v2["mermaid"].startswith("flowchart TD\n")
    assert "s0 & s1 --> s2" in v2["mermaid"]
    assert client_for("c-1").get("/api/v1/sagas/definitions").status_code == 403


def test_operator_actions_on_a_saga_of_an_unregistered_version_are_refused_not_a_server_error(
    operator_api: APIClient,
) -> None:
    order_created(ORDERS[8])
    saga = SagaInstance.objects.get(order_id=ORDERS[8])
    SagaInstance.objects.filter(id=saga.id).update(version=7)
    refused = operator_api.post(f"/api/v1/sagas/{saga.id}/compensate")
    assert (refused.status_code, "place_order version 7" in refused.json()["detail"]) == (409, True)
    SagaInstance.objects.filter(id=saga.id).update(state="COMPLETED")
    assert operator_api.post(f"/api/v1/sagas/{saga.id}/compensate").status_code == 409
    assert operator_api.post(f"/api/v1/sagas/{saga.id}/retry").status_code == 409
