"""Operator pages for messaging: each service's outbox, consumer lag and dead letters, and the dead letters
themselves with Replay and Discard."""

import functools
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from console import filters as checked
from console.api import act, action_result, client_for, problems_of
from console.auth import Person, operator_only, person_of
from saga_client.models import DeadLetter

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
    health = problems.load_each({s: functools.partial(client.messaging_health, s) for s in SERVICES})
    return {
        "services": [{"name": service, "health": health[service]} for service in SERVICES],
        "problems": problems.banners,
    }


def _status(request: HttpRequest) -> str:
    """The dead letters' status filter, PENDING unless given; a malformed one is a 400 naming it."""
    return checked.one_of(request, "status", STATUSES, default="PENDING")


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
    pages = problems.load_each(
        {s: functools.partial(client.list_dead_letters, s, status=status, limit=PAGE_SIZE) for s in SERVICES}
    )
    rows: list[dict[str, Any]] = [
        {"service": service, "letter": letter, "saga_link": saga_link(letter)}
        for service, page in pages.items()
        for letter in (page.results if page else ())
    ]
    rows.sort(key=lambda row: row["letter"].received_at, reverse=True)
    return {
        "status": status,
        "rows": rows,
        "outcome": outcome,
        "refused": refused,
        "problems": problems.banners,
    }


def saga_link(letter: DeadLetter) -> str:
    """Where the letter's order is: ``/ops/orders/<id>`` shows it with its payment, shipment and sagas
    (none yet when its first message is the one that failed). Empty when the letter names no order, or
    one that is not a uuid, as every order's is: no order could be found for it."""
    try:
        return f"/ops/orders/{UUID(letter.order_id)}" if letter.order_id else ""
    except ValueError:
        return ""


@require_POST
@operator_only
def dead_letter_action(request: HttpRequest, service: str, letter_id: UUID, action: str) -> HttpResponse:
    """Replay (published again once, through the service's outbox) or Discard; refusals are shown."""
    if service not in SERVICES:
        raise Http404("no such service")
    status = _status(request)  # the list shown after it: refused before the action, not after
    client = client_for(_person(request))
    call = client.replay_dead_letter if action == "replay" else client.discard_dead_letter
    letter, why = act(problems_of(request), service, lambda: call(service, str(letter_id)))
    outcome = f"{action.capitalize()}ed dead letter {letter.id} of {service}." if letter is not None else ""
    refused = f"{action.capitalize()} refused: {why}" if why else ""
    if request.headers.get("HX-Request"):
        return action_result(outcome, refused, "dead-letters-changed")
    context = _dead_letters_context(request, status, outcome=outcome, refused=refused)
    context["statuses"] = STATUSES
    return render(
        request,
        "console/ops/dead_letters.html",
        context,
        status=503 if problems_of(request).down else 409 if refused else 200,
    )
