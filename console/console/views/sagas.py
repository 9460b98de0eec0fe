"""Operator pages for sagas: the list with counts, one saga's timeline and history, Retry and Compensate."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from console import filters as checked
from console import saga_diagram
from console.api import act, action_result, client_for, problems_of
from console.auth import Person, operator_only, person_of
from console.saga_actions import offer
from console.timeline import step_rows
from saga_client.errors import NotFound

STATES = ("RUNNING", "COMPENSATING", "FAILED", "COMPLETED", "COMPENSATED")
SAGA_TYPES = ("place_order", "cancel_order")
PAGE_SIZE = 50


def _person(request: HttpRequest) -> Person:
    person = person_of(request)
    assert person is not None
    return person


def _filters(request: HttpRequest) -> dict[str, str]:
    """The list's filters as the API takes them ("" for any); a malformed one is a 400 naming it."""
    return {
        "state": checked.one_of(request, "state", STATES),
        "type": checked.one_of(request, "type", SAGA_TYPES),
        "order_id": checked.order_id(request),
    }


@require_GET
@operator_only
def saga_list(request: HttpRequest) -> HttpResponse:
    context = {**_list_context(request), "states": STATES, "saga_types": SAGA_TYPES}
    return render(request, "console/ops/sagas.html", context)


@require_GET
@operator_only
def saga_table(request: HttpRequest) -> HttpResponse:
    return render(request, "console/ops/sagas_table.html", _list_context(request))


def _list_context(request: HttpRequest) -> dict[str, Any]:
    client = client_for(_person(request))
    problems = problems_of(request)
    filters = _filters(request)
    query = {key: value for key, value in filters.items() if value}
    page = problems.load(
        "orchestrator",
        lambda: client.list_sagas(
            state=filters["state"] or None,
            type=filters["type"] or None,
            order_id=filters["order_id"] or None,
            limit=PAGE_SIZE,
        ),
    )
    counts = problems.load("orchestrator", lambda: client.saga_counts(type=filters["type"] or None))
    return {
        "filters": filters,
        "query": urlencode(query),
        "sagas": page.results if page else [],
        "sagas_loaded": page is not None,
        "counts": [(state, counts.counts.get(state, 0)) for state in STATES] if counts else [],
        "problems": problems.banners,
    }


@require_GET
@operator_only
def saga_detail(request: HttpRequest, saga_id: UUID) -> HttpResponse:
    return render(request, "console/ops/saga.html", _saga_context(request, saga_id))


@require_GET
@operator_only
def saga_live(request: HttpRequest, saga_id: UUID) -> HttpResponse:
    return render(request, "console/ops/saga_live.html", _saga_context(request, saga_id))


def _saga_context(
    request: HttpRequest, saga_id: UUID, *, outcome: str = "", refused: str = ""
) -> dict[str, Any]:
    client = client_for(_person(request))
    problems = problems_of(request)
    missing = False
    try:
        saga = problems.load("orchestrator", lambda: client.get_saga(str(saga_id)))
    except NotFound:
        saga, missing = None, True
    definitions = problems.load("orchestrator", client.saga_definitions) if saga else None
    definition = saga_diagram.definition_of(definitions, saga)
    trace_id = saga.trace_id if saga else None
    return {
        "saga_id": saga_id,
        "saga": saga,
        "missing": missing,
        "steps": step_rows(list(saga.steps), datetime.now(UTC)) if saga else [],
        "history": list(reversed(saga.history)) if saga else [],
        "ended": saga is not None and saga.state in ("COMPLETED", "COMPENSATED"),
        "offer": offer(saga, saga_diagram.pivot_of(definition)) if saga else None,
        "diagram": saga_diagram.render(definition, saga) if definition and saga else "",
        "legend": saga_diagram.legend(),
        "trace_id": trace_id,
        "trace_url": settings.TRACE_URL_TEMPLATE.format(trace_id=trace_id)
        if trace_id and settings.TRACE_URL_TEMPLATE
        else "",
        "outcome": outcome,
        "refused": refused,
        "problems": problems.banners,
    }


@require_POST
@operator_only
def saga_action(request: HttpRequest, saga_id: UUID, action: str) -> HttpResponse:
    """Retry or Compensate; a refusal (409, with the engine's reason) is shown, not hidden."""
    client = client_for(_person(request))
    call = client.retry_saga if action == "retry" else client.compensate_saga
    saga, why = act(problems_of(request), "orchestrator", lambda: call(str(saga_id)))
    outcome = f"{action.capitalize()} accepted." if saga is not None else ""
    refused = f"{action.capitalize()} refused: {why}" if why else ""
    if request.headers.get("HX-Request"):
        return action_result(outcome, refused, "saga-changed")
    context = _saga_context(request, saga_id, outcome=outcome, refused=refused)
    return render(
        request,
        "console/ops/saga.html",
        context,
        status=503 if problems_of(request).down else 409 if refused else 200,
    )
