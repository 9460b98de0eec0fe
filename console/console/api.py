"""The console's only way to the data: the typed client, acting as the signed-in person.

``Problems`` collects what a page could not load. A service that does not answer, or answers with a
server error, becomes a banner naming it, and the rest of the page renders without that part. A page
never shows a stack trace. An API that refuses the person's token (expired, or signed by a key it does
not trust) sends them to sign in again (``SignInAgain``, handled by ``auth.SignedInPersonMiddleware``).

Nothing is sent again here (``retries=0``): the pages poll every few seconds anyway, and a page
asks its services side by side (``load_each``), so it waits about ``CONSOLE_API_TIMEOUT_SECONDS`` for
the slowest one rather than the sum of every retry of every service.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from console.auth import Person
from console.display import error_text
from console.metrics import observe_api_call
from saga_client import ShopClient
from saga_client.errors import ApiError, NotFound, ServiceUnavailable, Unauthorized, UnexpectedResponse

logger = logging.getLogger(__name__)
T = TypeVar("T")

_shared: ShopClient | None = None
_lock = threading.Lock()


def client_for(person: Person) -> ShopClient:
    """A client with the person's token, sharing the process's connection pools."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = ShopClient(
                settings.CONSOLE_API_URLS, timeout=settings.CONSOLE_API_TIMEOUT_SECONDS, retries=0
            )
    return _shared.with_token(person.token)


def reset_client() -> None:
    """Forget the shared client (tests change the API URLs)."""
    global _shared
    with _lock:
        if _shared is not None:
            _shared.close()
        _shared = None


@dataclass
class Problems:
    """What this page could not load, said once per service."""

    banners: list[str] = field(default_factory=list)
    down: set[str] = field(default_factory=set)

    def service_down(self, service: str, why: str) -> None:
        if service not in self.down:
            self.down.add(service)
            self.banners.append(
                f"The {service} service is not answering ({why}). The rest of the page works."
            )

    def load(self, service: str, read: Callable[[], T]) -> T | None:
        """``read()``, or None with a banner if ``service`` is down or failing. A 404 is the caller's
        to handle (an account not opened yet is not a failure); a 401 means signing in again."""
        outcome = _attempt(service, read)
        if isinstance(outcome, Failure):
            self.record(service, outcome)
            return None
        return outcome

    def load_each(self, reads: Mapping[str, Callable[[], T]]) -> dict[str, T | None]:
        """Each service's ``read()``, asked side by side; None (and a banner) for each that failed."""
        with ThreadPoolExecutor(max_workers=len(reads) or 1) as pool:
            outcomes = dict(zip(reads, pool.map(_attempt, reads, reads.values()), strict=True))
        loaded: dict[str, T | None] = {}
        for service, outcome in outcomes.items():
            if isinstance(outcome, Failure):
                self.record(service, outcome)
                loaded[service] = None
            else:
                loaded[service] = outcome
        return loaded

    def record(self, service: str, failure: "Failure") -> None:
        error = failure.error
        if isinstance(error, Unauthorized):
            raise SignInAgain(service) from error
        if isinstance(error, NotFound):
            raise error
        if isinstance(error, ServiceUnavailable):
            self.service_down(service, error.reason)
        elif isinstance(error, ApiError) and error.status >= 500:
            logger.warning("%s answered %s: %s", service, error.status, error.detail)
            self.service_down(service, f"it answered {error.status}")
        elif isinstance(error, ApiError):
            logger.warning("%s refused a read with %s: %s", service, error.status, error.detail)
            self.service_down(service, f"it refused the request with {error.status}")
        else:
            logger.warning("%s answered something unreadable: %s", service, error)
            self.service_down(service, "its answer could not be read")


class SignInAgain(Exception):
    """An API refused the person's token: their session is over, whatever the console thought."""


@dataclass(frozen=True)
class Failure:
    error: ApiError | ServiceUnavailable | UnexpectedResponse


def _attempt(service: str, read: Callable[[], T]) -> "T | Failure":
    """``read()`` or how it failed; counted and timed by service and outcome (console.metrics)."""
    started = time.perf_counter()
    try:
        result: T | Failure = read()
    except (ApiError, ServiceUnavailable, UnexpectedResponse) as exc:
        result = Failure(exc)
    observe_api_call(service, outcome_of(result), time.perf_counter() - started)
    return result


def outcome_of(result: object) -> str:
    """What became of an API call, in a word (the metrics' ``outcome`` label)."""
    if not isinstance(result, Failure):
        return "ok"
    error = result.error
    if isinstance(error, Unauthorized):
        return "unauthorized"
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, ServiceUnavailable):
        return "unavailable"
    if isinstance(error, ApiError):
        return "server_error" if error.status >= 500 else "refused"
    return "unreadable"


def problems_of(request: HttpRequest) -> Problems:
    problems: Problems | None = getattr(request, "console_problems", None)
    if problems is None:
        problems = Problems()
        request.console_problems = problems  # type: ignore[attr-defined]
    return problems


def action_result(outcome: str, refused: str, changed_event: str) -> HttpResponse:
    """What an htmx button gets back: the outcome or the refusal, shown where the button is, and an event
    that makes the live part of the page refresh at once. Always 200: htmx swaps only 2xx answers."""
    html = render_to_string("console/action_result.html", {"outcome": outcome, "refused": refused})
    response = HttpResponse(html)
    response["HX-Trigger"] = changed_event
    return response


def act(problems: Problems, service: str, call: Callable[[], T]) -> tuple[T | None, str]:
    """Do what a button asks; return the result, or None and why it was not done (the API's refusal in
    its own words, or which service did not answer). Never retried: the person presses again."""
    outcome = _attempt(service, call)
    if not isinstance(outcome, Failure):
        return outcome, ""
    error = outcome.error
    if isinstance(error, Unauthorized):
        raise SignInAgain(service) from error
    if isinstance(error, ApiError) and error.status < 500:
        return None, error_text(error.detail)
    problems.record(service, outcome)
    return None, problems.banners[-1]
