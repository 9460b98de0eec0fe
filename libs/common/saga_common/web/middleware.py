"""Middleware every service runs: correlation ids, and a JSON 413 for oversized bodies.

Django's own body limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``) only fires once a body is read, as a 400.
Clients deserve the precise status, and refusing on the declared length reads nothing at all.
"""

import io
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse

from saga_common.observability import tracing
from saga_common.observability.logs import bind
from saga_common.web.correlation import correlation_id_of


class CorrelationIdMiddleware:
    """Give every request a correlation id (the caller's X-Correlation-ID if well formed), log it on
    every line the request causes, and echo it in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation_id = correlation_id_of(request)
        setattr(request, "correlation_id", correlation_id)  # noqa: B010 - what the views pass on
        tracing.annotate({"correlation.id": correlation_id})  # on the request's span, when traced
        with bind(correlation_id=correlation_id):
            response = self.get_response(request)
        response["X-Correlation-ID"] = correlation_id
        return response


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            if not _read_chunked_body(request, limit):
                return _too_large(limit)
            return self.get_response(request)
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not (declared.isascii() and declared.isdigit()):
            return JsonResponse({"detail": "Content-Length must be a whole number"}, status=400)
        if limit is not None and int(declared) > limit:
            return _too_large(limit)
        return self.get_response(request)


def _too_large(limit: int | None) -> JsonResponse:
    return JsonResponse({"detail": f"request body is larger than {limit} bytes"}, status=413)


def _read_chunked_body(request: HttpRequest, limit: int | None) -> bool:
    """Read a chunked body into memory as if it had come with a Content-Length; False if over ``limit``.

    gunicorn de-chunks the body into ``wsgi.input`` but, as the length is not known, sets no
    CONTENT_LENGTH, and Django then reads nothing: the body looked empty. Reading one byte more
    than the limit tells a body over it without reading the rest.
    """
    stream = request.META["wsgi.input"]
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        return False
    request.META["CONTENT_LENGTH"] = str(len(body))
    request.META["wsgi.input"] = io.BytesIO(body)
    # Django made its stream when the request was built, bounded by the then absent length (0): make
    # it again, as WSGIRequest.__init__ does, now that the length is known.
    request._stream = LimitedStream(request.META["wsgi.input"], len(body))  # type: ignore[assignment]
    return True
