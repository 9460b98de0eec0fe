"""Operator pages for messaging: each service's outbox, consumer lag and dead letters, and the dead letters
themselves with Replay and Discard."""

import functools
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from console.api import action_result, client_for, problems_of
from console.auth import Person, operator_only, person_of
from console.display import error_text
from saga_client.errors import ApiError

SERVICES = ("orders", "payments", "shipping", "orchestrator")
STATUSES = ("PENDING", "REPLAYED", "DISCARDED")
PAGE_SIZE = 50


def _person(request: HttpRequest) -> Person:
    person = person_of(request)
    assert person is not None
    return person


@require_GET
@operator_only
def health(request: HttpRequest) -> HttpResponse:
    return render(request, "console/ops/messaging.html", _health_context(request))


@require_GET
@operator_only
def health_live(request: HttpRequest) -> HttpResponse:
    return render(request, "console/ops/messaging_live.html", _health_context(request))


def _health_context(request: HttpRequest) -> dict[str, Any]:
    client = client_for(_person(request))
    problems = problems_of(request)
    services = []
    for service in SERVICES:
        services.append(
            {
                "name": service,
                "health": problems.load(service, functools.partial(client.messaging_health, service)),
            }
        )
    return {"services": services, "problems": problems.banners}


def _status(request: HttpRequest) -> str:
    status = request.GET.get("status", "PENDING")
    return status if status in STATUSES else "PENDING"


@require_GET
@operator_only
def dead_letters(request: HttpRequest) -> HttpResponse:
    context = {**_dead_letters_context(request, _status(request)), "statuses": STATUSES}
    return render(request, "console/ops/dead_letters.html", context)


@require_GET
@operator_only
def dead_letters_live(request: HttpRequest) -> HttpResponse:
    return render(
        request, "console/ops/dead_letters_live.html", _dead_letters_context(request, _status(request))
    )


def _dead_letters_context(
    request: HttpRequest, status: str, *, outcome: str = "", refused: str = ""
) -> dict[str, Any]:
    client = client_for(_person(request))
    problems = problems_of(request)
    rows: list[dict[str, Any]] = []
    for service in SERVICES:
        page = problems.load(
            service, functools.partial(client.list_dead_letters, service, status=status, limit=PAGE_SIZE)
        )
        rows.extend({"service": service, "letter": letter} for letter in (page.results if page else []))
    rows.sort(key=lambda row: row["letter"].received_at, reverse=True)
    return {
        "status": status,
        "rows": rows,
        "outcome": outcome,
        "refused": refused,
        "problems": problems.banners,
    }


@require_POST
@operator_only
def dead_letter_action(request: HttpRequest, service: str, letter_id: UUID, action: str) -> HttpResponse:
    """Replay (published again once, through the service's outbox) or Discard; refusals are shown."""
    if service not in SERVICES:
        raise Http404("no such service")
    client = client_for(_person(request))
    act = client.replay_dead_letter if action == "replay" else client.discard_dead_letter
    outcome = refused = ""
    try:
        letter = problems_of(request).load(service, lambda: act(service, str(letter_id)))
        if letter is None:
            refused = problems_of(request).banners[-1]
        else:
            outcome = f"{action.capitalize()}ed dead letter {letter.id} of {service}."
    except ApiError as exc:
        refused = f"{action.capitalize()} refused: {error_text(exc.detail)}"
    if request.headers.get("HX-Request"):
        return action_result(outcome, refused, "dead-letters-changed")
    context = _dead_letters_context(request, _status(request), outcome=outcome, refused=refused)
    context["statuses"] = STATUSES
    return render(
        request,
        "console/ops/dead_letters.html",
        context,
        status=503 if problems_of(request).down else 409 if refused else 200,
    )
