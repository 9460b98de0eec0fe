"""Cancelling an order (the storefront's button, the operator's) and dispatching a shipment, and a
saga's page drawing its definition with where the saga is."""

import json
from typing import Any

import respx
from django.test import Client

from tests.conftest import account_json, order_json, page, place_order_v2_json, saga_json, step_json

ORDER = "5b0c9f8e-0000-4000-8000-000000000001"
SHIPMENT = "6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SAGA = "0c9e5a43-6f0e-5d5c-9b7e-2a4a1f1d8e11"


def shipment_json(status: str = "SCHEDULED", released: bool = True) -> dict[str, Any]:
    return {"id": SHIPMENT, "order_id": ORDER, "status": status, "country": "DE", "released": released}


def storefront(customer: Client, apis: respx.MockRouter, *orders: dict[str, Any]) -> str:
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    apis.get("http://orders.test/api/v1/orders").respond(json=page(list(orders)))
    apis.get("http://payments.test/api/v1/payments").respond(json=page([]))
    apis.get("http://shipping.test/api/v1/shipments").respond(json=page([shipment_json()]))
    return customer.get("/shop").content.decode()


def test_only_an_approved_order_not_refused_before_offers_cancel(
    customer: Client, apis: respx.MockRouter
) -> None:
    refused = {
        **order_json(ORDER.replace("1", "3"), "APPROVED"),
        "cancellation_refused_reason": "shipment was dispatched",
    }
    html = storefront(
        customer, apis, order_json(ORDER, "APPROVED"), order_json(ORDER.replace("1", "2"), "PENDING"), refused
    )
    assert html.count("Cancel order</button>") == 1
    assert f'hx-post="/shop/orders/{ORDER}/cancel"' in html
    assert "Not cancelled: shipment was dispatched" in html


def test_a_cancelling_order_keeps_the_list_live(customer: Client, apis: respx.MockRouter) -> None:
    html = storefront(customer, apis, order_json(ORDER, "CANCELLING"))
    assert 'hx-trigger="every 2s, orders-changed from:body"' in html
    assert "Cancel order</button>" not in html


def test_the_cancel_button_sends_the_reason_and_its_key_and_refreshes_the_orders(
    customer: Client, apis: respx.MockRouter
) -> None:
    route = apis.post(f"http://orders.test/api/v1/orders/{ORDER}/cancel").respond(
        202, json=order_json(ORDER, "CANCELLING")
    )
    answer = customer.post(
        f"/shop/orders/{ORDER}/cancel",
        {"reason": " too slow ", "idempotency_key": "k-1"},
        HTTP_HX_REQUEST="true",
    )
    assert (answer.status_code, answer["HX-Trigger"]) == (200, "orders-changed")
    assert "Cancellation asked: the order is CANCELLING." in answer.content.decode()
    sent = route.calls.last.request
    assert (json.loads(sent.content), sent.headers["Idempotency-Key"]) == ({"reason": "too slow"}, "k-1")


def test_a_refused_cancellation_shows_the_orders_service_reason(
    customer: Client, apis: respx.MockRouter
) -> None:
    apis.post(f"http://orders.test/api/v1/orders/{ORDER}/cancel").respond(
        409, json={"detail": f"order {ORDER} is PENDING; only an APPROVED order can be cancelled"}
    )
    answer = customer.post(f"/shop/orders/{ORDER}/cancel", {}, HTTP_HX_REQUEST="true").content.decode()
    assert "Not cancelled:" in answer
    assert "only an APPROVED order can be cancelled" in answer


def test_an_operator_cannot_use_the_storefront_button_nor_a_customer_the_operators(
    customer: Client, operator: Client, apis: respx.MockRouter
) -> None:
    route = apis.post(f"http://orders.test/api/v1/orders/{ORDER}/cancel").respond(202, json=order_json(ORDER))
    assert operator.post(f"/shop/orders/{ORDER}/cancel").status_code == 403
    assert customer.post(f"/ops/orders/{ORDER}/dispatch").status_code == 403
    assert customer.post(f"/ops/orders/{ORDER}/cancel").status_code == 403
    assert route.calls.call_count == 0


def order_page(
    operator: Client, apis: respx.MockRouter, shipment: dict[str, Any], status: str = "APPROVED"
) -> str:
    apis.get(f"http://orders.test/api/v1/orders/{ORDER}").respond(json=order_json(ORDER, status))
    apis.get("http://payments.test/api/v1/payments").respond(json=page([]))
    apis.get("http://shipping.test/api/v1/shipments").respond(json=page([shipment]))
    apis.get("http://orchestrator.test/api/v1/sagas").respond(json=page([saga_json(SAGA, "COMPLETED")]))
    return operator.get(f"/ops/orders/{ORDER}").content.decode()


def test_the_operators_order_page_offers_dispatch_for_a_released_scheduled_shipment(
    operator: Client, apis: respx.MockRouter
) -> None:
    html = order_page(operator, apis, shipment_json())
    assert f'hx-post="/ops/orders/{ORDER}/dispatch"' in html
    assert f'hx-post="/ops/orders/{ORDER}/cancel"' in html
    assert f'href="/ops/sagas/{SAGA}"' in html
    held = order_page(operator, apis, shipment_json(released=False), status="PENDING")
    assert "/dispatch" not in held
    assert "held until the order's money is captured" in held
    gone = order_page(operator, apis, shipment_json("DISPATCHED"))
    assert "/dispatch" not in gone
    pending = order_page(operator, apis, shipment_json(), status="PENDING")  # a v1 saga's, not held
    assert "/dispatch" not in pending


def test_dispatch_sends_the_orders_shipment_and_shows_a_refusal(
    operator: Client, apis: respx.MockRouter
) -> None:
    apis.get("http://shipping.test/api/v1/shipments").respond(json=page([shipment_json()]))
    route = apis.post(f"http://shipping.test/api/v1/shipments/{SHIPMENT}/dispatch").respond(
        json=shipment_json("DISPATCHED")
    )
    answer = operator.post(f"/ops/orders/{ORDER}/dispatch", HTTP_HX_REQUEST="true")
    assert (answer["HX-Trigger"], route.calls.call_count) == ("order-changed", 1)
    assert "Dispatched: the shipment is on its way." in answer.content.decode()
    route.respond(409, json={"detail": f"shipment {SHIPMENT} was cancelled and cannot be dispatched"})
    refused = operator.post(f"/ops/orders/{ORDER}/dispatch", HTTP_HX_REQUEST="true").content.decode()
    assert "Dispatch refused: " in refused
    assert "was cancelled and cannot be dispatched" in refused


def test_the_saga_page_draws_its_definition_with_where_the_saga_is(
    operator: Client, apis: respx.MockRouter
) -> None:
    apis.routes["definitions"].respond(json=[place_order_v2_json()])
    steps = [
        step_json("authorize_payment", "SUCCEEDED"),
        step_json("schedule_held_shipment", "STARTED"),
    ]
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=saga_json(SAGA, "RUNNING", steps))
    html = operator.get(f"/ops/sagas/{SAGA}").content.decode()
    assert '<svg class="saga-diagram"' in html
    phases = {
        "authorize_payment": "done",
        "schedule_held_shipment": "waiting",
        "capture_payment": "not-reached",
        "void_payment": "not-reached",
        "reject_order": "not-reached",
    }
    for step, phase in phases.items():
        assert f'data-step="{step}" data-phase="{phase}"' in html
    assert "capture_payment  (pivot)" in html
    assert "version 2" in html


def test_a_compensated_step_is_drawn_compensated(operator: Client, apis: respx.MockRouter) -> None:
    apis.routes["definitions"].respond(json=[place_order_v2_json()])
    steps = [
        step_json("authorize_payment", "SUCCEEDED"),
        step_json("schedule_held_shipment", "FAILED"),
        step_json("void_payment", "SUCCEEDED", kind="COMPENSATION"),
        step_json("reject_order", "STARTED", kind="FINAL"),
    ]
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(
        json=saga_json(SAGA, "COMPENSATING", steps)
    )
    html = operator.get(f"/ops/sagas/{SAGA}").content.decode()
    for step, phase in {
        "authorize_payment": "compensated",
        "schedule_held_shipment": "failed",
        "void_payment": "done",
        "cancel_shipment": "not-reached",
        "reject_order": "waiting",
    }.items():
        assert f'data-step="{step}" data-phase="{phase}"' in html


def test_without_its_definition_the_saga_page_still_shows_the_timeline(
    operator: Client, apis: respx.MockRouter
) -> None:
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=saga_json(SAGA))
    html = operator.get(f"/ops/sagas/{SAGA}").content.decode()
    assert "saga-diagram" not in html  # a version this orchestrator no longer describes
    assert "Timeline" in html


def test_the_saga_list_filters_cancellations(operator: Client, apis: respx.MockRouter) -> None:
    sagas = apis.get("http://orchestrator.test/api/v1/sagas").respond(json=page([]))
    apis.get("http://orchestrator.test/api/v1/sagas/counts").respond(json={"counts": {}, "total": 0})
    html = operator.get("/ops/sagas?type=cancel_order").content.decode()
    assert sagas.calls.last.request.url.params["type"] == "cancel_order"
    assert "<option selected>cancel_order</option>" in html


def test_compensate_is_not_offered_once_the_definition_says_the_pivot_was_sent(
    operator: Client, apis: respx.MockRouter
) -> None:
    apis.routes["definitions"].respond(json=[place_order_v2_json()])
    saga = apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}")
    saga.respond(json=saga_json(SAGA, "RUNNING", [step_json("authorize_payment", "SUCCEEDED")]))
    before = operator.get(f"/ops/sagas/{SAGA}").content.decode()
    assert ">Compensate</button>" in before
    assert "unless it has sent its pivot (capture_payment)" in before
    saga.respond(json=saga_json(SAGA, "RUNNING", [step_json("capture_payment", "STARTED")]))
    after = operator.get(f"/ops/sagas/{SAGA}").content.decode()
    assert ">Compensate</button>" not in after
    assert "has sent its pivot, capture_payment, which may already have taken effect" in after
