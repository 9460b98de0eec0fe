"""The operator's view of one order: the order, its payment and shipment, its sagas; Dispatch and Cancel.

Dispatch sends a SCHEDULED shipment on its way (a dispatched shipment can no longer be cancelled, so it
refuses the order's cancellation); Cancel asks, as the customer may, for an APPROVED order's
cancellation. Both are the services' to refuse, with the reason shown where the button is.
"""

import uuid
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from console.api import act, action_result, client_for, problems_of
from console.auth import Person, operator_only, person_of
from saga_client.errors import NotFound

LIVE = ("PENDING", "CANCELLING")  # a saga runs: the page refreshes until it ends


def _person(request: HttpRequest) -> Person:
    person = person_of(request)
    assert person is not None
    return person


@require_GET
@operator_only
def order_detail(request: HttpRequest, order_id: UUID) -> HttpResponse:
    context = _order_context(request, order_id)
    return render(request, "console/ops/order.html", context, status=404 if context["missing"] else 200)


@require_GET
@operator_only
def order_live(request: HttpRequest, order_id: UUID) -> HttpResponse:
    return render(request, "console/ops/order_live.html", _order_context(request, order_id))


def _order_context(request: HttpRequest, order_id: UUID) -> dict[str, Any]:
    client = client_for(_person(request))
    problems = problems_of(request)
    missing = False
    try:
        order = problems.load("orders", lambda: client.get_order(order_id))
    except NotFound:
        order, missing = None, True
    loaded: dict[str, Any] = problems.load_each(
        {
            "payments": lambda: client.payments_of(order_id),
            "shipping": lambda: client.shipments_of(order_id),
            "orchestrator": lambda: list(client.list_sagas(order_id=order_id, limit=10).results),
        }
    )
    shipments, payments = loaded["shipping"] or [], loaded["payments"] or []
    shipment = shipments[0] if shipments else None
    held = shipment is not None and shipment.status == "SCHEDULED" and not shipment.released
    return {
        "order_id": order_id,
        "order": order,
        "missing": missing and not shipments and not payments,
        "payment": payments[0] if payments else None,
        "shipment": shipment,
        "sagas": loaded["orchestrator"] or [],
        # Only an APPROVED order's: shipping cannot tell whether a PlaceOrder v1 saga (whose shipments are
        # not held) has passed its pivot, and a dispatched shipment refuses that saga's compensation.
        "dispatchable": order is not None
        and order.status == "APPROVED"
        and shipment is not None
        and shipment.status == "SCHEDULED"
        and shipment.released,
        "held": held,
        "cancellable": order is not None
        and order.status == "APPROVED"
        and not order.cancellation_refused_reason,
        "cancel_key": str(uuid.uuid4()),
        "live": order is None or order.status in LIVE or held,  # held: released a moment after approval
        "problems": problems.banners,
    }


@require_POST
@operator_only
def dispatch(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """Dispatch the order's shipment; the shipping service refuses a cancelled or held one."""
    client = client_for(_person(request))
    problems = problems_of(request)
    shipments = problems.load("shipping", lambda: client.shipments_of(order_id)) or []
    if not shipments:
        return _answer(
            request,
            order_id,
            "",
            problems.banners[-1] if problems.banners else "Dispatch refused: this order has no shipment.",
        )
    shipment, why = act(problems, "shipping", lambda: client.dispatch_shipment(shipments[0].id))
    return _answer(
        request,
        order_id,
        "Dispatched: the shipment is on its way." if shipment is not None else "",
        f"Dispatch refused: {why}" if why else "",
    )


@require_POST
@operator_only
def cancel(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """Ask for the order's cancellation, as its customer may."""
    key = request.POST.get("idempotency_key") or str(uuid.uuid4())
    reason = request.POST.get("reason", "").strip()
    order, why = act(
        problems_of(request),
        "orders",
        lambda: client_for(_person(request)).cancel_order(order_id, reason=reason, idempotency_key=key),
    )
    return _answer(
        request,
        order_id,
        "Cancellation asked: the order is CANCELLING." if order is not None else "",
        f"Cancel refused: {why}" if why else "",
    )


def _answer(request: HttpRequest, order_id: UUID, outcome: str, refused: str) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return action_result(outcome, refused, "order-changed")
    context = {**_order_context(request, order_id), "outcome": outcome, "refused": refused}
    status = 503 if problems_of(request).down else 409 if refused else 200
    return render(request, "console/ops/order.html", context, status=status)
