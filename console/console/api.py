"""The console's only way to the data: the typed client, acting as the signed-in person.

``Problems`` collects what a page could not load. A service that does not answer, or answers with a
server error, becomes a banner naming it, and the rest of the page renders without that part. A page
never shows a stack trace.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from console.auth import Person
from saga_client import ShopClient
from saga_client.errors import ApiError, ServiceUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")

_shared: ShopClient | None = None
_lock = threading.Lock()


def client_for(person: Person) -> ShopClient:
    """A client with the person's token, sharing the process's connection pools."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = ShopClient(settings.CONSOLE_API_URLS, timeout=settings.CONSOLE_API_TIMEOUT_SECONDS)
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
        """``read()``, or None with a banner if ``service`` is down or failing."""
        try:
            return read()
        except ServiceUnavailable as exc:
            self.service_down(service, exc.reason)
        except ApiError as exc:
            if exc.status < 500:
                raise
            logger.warning("%s answered %s: %s", service, exc.status, exc.detail)
            self.service_down(service, f"it answered {exc.status}")
        return None


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
