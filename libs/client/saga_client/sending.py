"""How one operation goes over the wire: its connection pools, the request, the retries of what is
safe to send again, and its answer read as the operation's model or raised as the error it is."""

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from saga_client.errors import ServiceUnavailable, UnexpectedResponse, error_for
from saga_client.operations import Operation

RETRIED_STATUSES = frozenset({502, 503, 504})  # a proxy or the service's server is briefly away
# A write with an Idempotency-Key: a 504 means the service may still be working on it (see ``send``).
WRITE_RETRIED_STATUSES = RETRIED_STATUSES - {504}
BACKOFF_SECONDS = 0.1  # before the first retry; doubled each time, at most MAX_BACKOFF_SECONDS
MAX_BACKOFF_SECONDS = 1.0
USER_AGENT = "saga-client/0.1"
# A write carrying this header is safe to send again with it: the service answers a repeated key with
# the first request's response (the order it placed), whether that request arrived or not.
IDEMPOTENCY_KEY = "Idempotency-Key"

log = logging.getLogger("saga_client")


def connection_pools(
    urls: Mapping[str, str], timeout: float, transport: httpx.BaseTransport | None
) -> dict[str, httpx.Client]:
    """An ``httpx.Client`` per service, one per distinct base URL (services behind one URL share it)."""
    # One TLS context for them all: building one per connection pool is most of a client's cost.
    verify = httpx.create_ssl_context() if transport is None else True
    by_url = {
        url: httpx.Client(
            base_url=url,
            timeout=timeout,
            transport=transport or httpx.HTTPTransport(verify=verify),
            headers={"User-Agent": USER_AGENT},
        )
        for url in sorted(set(urls.values()))
    }
    return {service: by_url[url] for service, url in urls.items()}


@dataclass(frozen=True)
class Request:
    """One operation to send to one service, with what fills it in."""

    operation: Operation
    service: str
    path: Mapping[str, object]
    query: Mapping[str, object | None]
    body: object
    headers: Mapping[str, str]


def call(http: httpx.Client, request: Request, *, token: str | None, retries: int) -> Any:
    """Send ``request`` and read its answer as the operation's model (None if it has none)."""
    operation, service = request.operation, request.service
    response = send(http, request, token=token, retries=retries)
    if not response.is_success:
        raise error_for(response.status_code, error_detail(response), service, operation.operation_id)
    if operation.response is None:
        return None
    try:
        return msgspec.json.decode(response.content, type=operation.response)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise UnexpectedResponse(
            f"{service} {operation.operation_id}: HTTP {response.status_code}: {exc}",
            service=service,
            operation=operation.operation_id,
        ) from exc


def send(http: httpx.Client, request: Request, *, token: str | None, retries: int) -> httpx.Response:
    """The answer to ``request``. A read is sent again (``retries`` times at most, with a short backoff,
    each logged as a warning) after a connection error, a timeout or a 502/503/504. A write carrying an
    Idempotency-Key is sent again, with that same key, only after a connection refused or reset or a
    502/503: a connection the server closes (an idle keep-alive it times out, a worker restarting) can
    reset a request already sent, and only the key makes sending it again safe. Not after a timeout or
    a 504: the first attempt may still be running, and a retry would wait behind it holding a thread and
    a connection of an already slow server; the caller decides (with the same key). Any other write is
    never sent again.
    """
    operation = request.operation
    headers = {"Accept": "application/json", **request.headers}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    content = None
    if request.body is not None:
        content = msgspec.json.encode(request.body)
        headers["Content-Type"] = "application/json"
    params = {key: str(value) for key, value in request.query.items() if value is not None}
    keyed_write = not operation.idempotent and IDEMPOTENCY_KEY in request.headers
    attempts = 1 + (max(0, retries) if operation.idempotent or keyed_write else 0)
    statuses = WRITE_RETRIED_STATUSES if keyed_write else RETRIED_STATUSES
    for attempt in range(1, attempts + 1):
        last = attempt == attempts
        try:
            response = http.request(
                operation.method,
                operation.url_path(**request.path),
                params=params,
                content=content,
                headers=headers,
            )
        except httpx.TransportError as exc:  # refused, reset, timed out, a broken answer
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if last or (keyed_write and isinstance(exc, httpx.TimeoutException)):
                raise ServiceUnavailable(request.service, operation.operation_id, reason) from exc
        else:
            if last or response.status_code not in statuses:
                return response
            reason = f"HTTP {response.status_code}"
            response.close()
        log.warning(
            "%s %s: %s; sending it again (attempt %d of %d)",
            request.service,
            operation.operation_id,
            reason,
            attempt + 1,
            attempts,
            extra={"retry_reason": reason.split(":", 1)[0]},
        )
        time.sleep(min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
    raise AssertionError("unreachable: the last attempt returns or raises")


def error_detail(response: httpx.Response) -> dict[str, Any]:
    """An error answer's JSON object, or what else it said as ``{"detail": ...}``."""
    try:
        parsed = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    if parsed is not None:
        return {"detail": parsed}
    return {"detail": response.text[:1000] or response.reason_phrase}
