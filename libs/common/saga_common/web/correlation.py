"""Correlation ids: one per request, carried by every message the request causes and every log line."""

import re
import uuid

from django.http import HttpRequest

_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def correlation_id_of(request: HttpRequest) -> str:
    """The request's correlation id: the caller's X-Correlation-ID if well formed, else a new one
    (chosen once per request by ``CorrelationIdMiddleware``)."""
    chosen = getattr(request, "correlation_id", None)
    if isinstance(chosen, str):
        return chosen
    supplied = request.headers.get("X-Correlation-ID", "")
    return supplied if _CORRELATION_ID.match(supplied) else str(uuid.uuid4())
