"""What a call can raise: the service answered with an error (``ApiError`` and its subclasses, one per
status), the service could not be reached in time (``ServiceUnavailable``), or it answered something
this client cannot read (``UnexpectedResponse``). All are ``ShopClientError``s."""

import json
from typing import Any


class ShopClientError(Exception):
    """Anything a ShopClient call raises on purpose."""

    def __init__(self, message: str, *, service: str, operation: str) -> None:
        super().__init__(message)
        self.service = service
        self.operation = operation


class ApiError(ShopClientError):
    """The service answered with an error status; ``detail`` is its JSON body (``{"detail": ...}`` or
    field errors), or ``{"detail": <text>}`` when the body was not a JSON object."""

    def __init__(self, status: int, detail: dict[str, Any], service: str, operation: str) -> None:
        super().__init__(
            f"{service} {operation}: HTTP {status}: {json.dumps(detail, ensure_ascii=False)}",
            service=service,
            operation=operation,
        )
        self.status = status
        self.detail = detail


class BadRequest(ApiError):
    """400: the request was refused as it is (field errors in ``detail``); nothing changed."""


class Unauthorized(ApiError):
    """401: no token, or a token the service does not accept."""


class Forbidden(ApiError):
    """403: the token's roles do not allow this (e.g. a customer reading sagas)."""


class NotFound(ApiError):
    """404: no such thing, or one the caller may not see."""


class Conflict(ApiError):
    """409: refused in the current state (e.g. compensate once the pivot was sent)."""


class Unprocessable(ApiError):
    """422: e.g. an Idempotency-Key used before with a different request."""


class ServerError(ApiError):
    """5xx: the service failed (for a read, after the retries)."""


class ServiceUnavailable(ShopClientError):
    """The service could not be reached, or did not answer in time (for a read, after the retries).

    A POST that ends here may or may not have taken effect: placing the order again with the same
    Idempotency-Key is safe.
    """

    def __init__(self, service: str, operation: str, reason: str) -> None:
        message = f"{service} {operation}: unavailable: {reason}"
        super().__init__(message, service=service, operation=operation)
        self.reason = reason


class UnexpectedResponse(ShopClientError):
    """A success status whose body does not match the model (a client older than the contract
    allows, or a bug on either side)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
}


def error_for(status: int, detail: dict[str, Any], service: str, operation: str) -> ApiError:
    """The exception for an error status: its own class, ServerError for 5xx, else ApiError."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, detail, service, operation)
