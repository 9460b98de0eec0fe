"""API conventions shared by the services: one domain error type, JSON for every error."""

import re
import uuid
from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A business rule refused the request; the API answers ``status_code`` with ``detail``."""

    status_code: int = status.HTTP_409_CONFLICT

    def __init__(self, detail: str, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus domain errors as JSON 4xx."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.detail}, status=exc.status_code)
    return drf_exception_handler(exc, context)


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Internal server error."}, status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Bad request."}, status=400)


_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def correlation_id_of(request: HttpRequest) -> str:
    """The request's correlation id: the caller's X-Correlation-ID if well formed, else a new one
    (chosen once per request by ``CorrelationIdMiddleware``)."""
    chosen = getattr(request, "correlation_id", None)
    if isinstance(chosen, str):
        return chosen
    supplied = request.headers.get("X-Correlation-ID", "")
    return supplied if _CORRELATION_ID.match(supplied) else str(uuid.uuid4())
