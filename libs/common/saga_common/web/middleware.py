"""Middleware every service runs: correlation ids, a 400 for text no view can read, and a JSON 413 for
oversized bodies.

Django's own body limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``) only fires once a body is read, as a 400.
Clients deserve the precise status, and refusing on the declared length reads nothing at all.
"""

import io
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import BadRequest
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_resolver, get_urlconf

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


class MalformedRequest(BadRequest):
    """A request refused before it reached a view or an API; the message says why, and each app's 400
    handler shows it (``saga_common.web.errors.json_bad_request``, the console's error page)."""


# What no text column stores: PostgreSQL refuses NUL, and UTF-8 cannot encode a lone surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnstorableTextMiddleware:
    """Refuse (400, in the app's own error shape) a request whose path, or a query parameter's name or
    value, holds a NUL or a lone surrogate or is not UTF-8, before any view reads it.

    No view can do anything with such text: ``GET /api/v1/accounts/a%00b`` reached the database driver,
    which refused it with a 500. Refused here, every path and query parameter of every service and of
    the console is covered, also those a view reads without a serializer, and a change (a POST) is
    refused before it is made. The bytes are checked as sent, too: Django re-escapes what is not UTF-8
    in a path (``%ED%A0%80``, a surrogate, reached a view as that literal text) and reads it as U+FFFD
    in a query, which a free-text filter then looked up.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _unstorable_part(request)
        if where is None:
            return self.get_response(request)
        refusal = MalformedRequest(f"the {where} holds a NUL or a lone surrogate, or is not UTF-8")
        bad_request: Any = get_resolver(get_urlconf()).resolve_error_handler(400)  # (request, exception)
        response: HttpResponse = bad_request(request, exception=refusal)
        return response


def _unstorable_part(request: HttpRequest) -> str | None:
    """Which part of the request ("path" or "query") holds unstorable text; None if neither does."""
    if _UNSTORABLE.search(request.path_info) or not _sent_as_utf8(request, "PATH_INFO"):
        return "path"
    texts = (text for name, values in request.GET.lists() for text in (name, *values))
    if any(_UNSTORABLE.search(text) for text in texts) or not _sent_as_utf8(request, "QUERY_STRING"):
        return "query"
    return None


def _sent_as_utf8(request: HttpRequest, key: str) -> bool:
    # WSGI gives the bytes as they came, as latin-1 text (PEP 3333); the server has unescaped the path,
    # not the query.
    sent = request.META.get(key, "").encode("latin-1", "replace")
    if key == "QUERY_STRING":
        sent = unquote_to_bytes(sent)
    try:
        sent.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
