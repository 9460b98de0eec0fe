"""The one family of domain errors: a business rule said no.

Services, participants and the saga engine raise these, wherever the rule lives; nothing below the web
layer knows HTTP. ``saga_common.web.errors`` maps each kind to its status code, in one place, and
``saga_common.messaging.participant`` turns any of them into the command's named refusal reply.
"""


class DomainError(Exception):
    """A business rule refused the request or the command; ``detail`` says why, for people."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The thing asked about does not exist (or is not the caller's to see)."""


class Forbidden(DomainError):
    """The caller may not do this, whatever the state of things."""


class Conflict(DomainError):
    """The current state of things forbids it (an order already decided, a saga past its pivot)."""


class Unprocessable(DomainError):
    """The request contradicts an earlier one (an Idempotency-Key reused with another body)."""
