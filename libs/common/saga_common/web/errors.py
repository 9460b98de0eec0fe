"""Every error is JSON, and every domain error has its status here, in one place."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from saga_common.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable
from saga_common.web.middleware import MalformedRequest

# The most specific class wins (checked in this order); a bare DomainError is a conflict.
STATUS_OF = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (Unprocessable, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (Conflict, status.HTTP_409_CONFLICT),
    (DomainError, status.HTTP_409_CONFLICT),
)


def status_of(error: DomainError) -> int:
    return next(code for kind, code in STATUS_OF if isinstance(error, kind))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (REST_FRAMEWORK's EXCEPTION_HANDLER), plus domain errors as JSON 4xx."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.detail}, status=status_of(exc))
    return drf_exception_handler(exc, context)


# Django's own error views (the root URLconfs name them), JSON rather than an HTML page.


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Internal server error."}, status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    # Only our own refusals say why: Django's (a bad Host header, say) may quote what the caller sent.
    detail = str(exception) if isinstance(exception, MalformedRequest) else "Bad request."
    return JsonResponse({"detail": detail}, status=400)
