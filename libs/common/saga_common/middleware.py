"""Middleware every service runs: correlation ids, and a JSON 413 for oversized bodies.

Django's own body limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``) only fires once a body is read, as a 400.
Clients deserve the precise status, and refusing on the declared length reads nothing at all.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from saga_common.api import correlation_id_of
from saga_common.logs import bind


class CorrelationIdMiddleware:
    """Give every request a correlation id (the caller's X-Correlation-ID if well formed), log it on
    every line the request causes, and echo it in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation_id = correlation_id_of(request)
        setattr(request, "correlation_id", correlation_id)  # noqa: B010 - what the views pass on
        with bind(correlation_id=correlation_id):
            response = self.get_response(request)
        response["X-Correlation-ID"] = correlation_id
        return response


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if not declared.isdigit():
            return JsonResponse({"detail": "Content-Length must be a whole number"}, status=400)
        if limit is not None and int(declared) > limit:
            return JsonResponse({"detail": f"request body is larger than {limit} bytes"}, status=413)
        return self.get_response(request)
