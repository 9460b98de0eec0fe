"""A service whose database is away answers 503 JSON, not 500: the client may try again, and nothing
changed (the transaction never committed). Django's connection health checks
(``CONN_HEALTH_CHECKS``) open a fresh connection on the next request, so the web recovers by itself
once the database is back."""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2


class DatabaseUnavailableMiddleware:
    """Last in MIDDLEWARE, so it is the first to see a view's exception."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable for %s %s: %r", request.method, request.path, exception)
        response = JsonResponse(
            {
                "detail": "The service's database is unavailable; the request may not have been applied. "
                "Try again shortly (with the same Idempotency-Key, where the endpoint takes one)."
            },
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
