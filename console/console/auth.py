"""Who is signed in, and what they may see.

The person is read from their access token on every request:
- with dev sign-in (``CONSOLE_DEV_SIGN_IN=1``) the token is the one the console minted at sign-in, kept in
  the signed, HttpOnly session cookie, and verified here with ``JWT_SIGNING_KEY``;
- otherwise the identity-aware proxy in front passes it in ``CONSOLE_TOKEN_HEADER`` on every request.
  The console reads its claims only to choose which pages to offer; it is the APIs, which verify every
  token they are given, that decide what the person may read or do.

The token itself never reaches the page: templates get a ``Person`` without it.
"""

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from saga_common.web.tokens import ALGORITHM, CUSTOMER, OPERATOR

logger = logging.getLogger(__name__)
SESSION_TOKEN = "access_token"


@dataclass(frozen=True)
class Person:
    subject: str
    roles: frozenset[str]
    token: str

    @property
    def is_operator(self) -> bool:
        return OPERATOR in self.roles

    @property
    def is_customer(self) -> bool:
        return CUSTOMER in self.roles

    def __str__(self) -> str:
        return self.subject


def person_from_token(token: str, *, verify_with: str | None) -> Person | None:
    """The person a token names, or None if it is unreadable, expired, or (when checked) badly signed."""
    try:
        if verify_with is None:
            claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
            if int(claims.get("exp", 0)) <= time.time():
                return None
        else:
            claims = jwt.decode(token, verify_with, algorithms=[ALGORITHM])
    except (jwt.InvalidTokenError, TypeError, ValueError):
        return None
    subject, roles = claims.get("sub"), claims.get("roles", [])
    if not isinstance(subject, str) or not subject or not isinstance(roles, list):
        return None
    return Person(subject=subject, roles=frozenset(str(role) for role in roles), token=token)


def signed_in_person(request: HttpRequest) -> Person | None:
    if settings.CONSOLE_DEV_SIGN_IN:
        token = request.session.get(SESSION_TOKEN)
        return person_from_token(token, verify_with=settings.JWT_SIGNING_KEY) if token else None
    token = request.headers.get(settings.CONSOLE_TOKEN_HEADER, "")
    if token.lower().startswith("bearer "):
        token = token[len("bearer ") :]
    return person_from_token(token, verify_with=None) if token else None


class SignedInPersonMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.person = signed_in_person(request)  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """An API refused the token (expired, or not one it trusts): sign in again, not an error page."""
        from console.api import SignInAgain

        if not isinstance(exception, SignInAgain):
            return None
        logger.info("%s refused %s's token; signing them out", exception, person_of(request))
        if settings.CONSOLE_DEV_SIGN_IN:
            request.session.flush()
        return _sign_in_first(request)


def person_of(request: HttpRequest) -> Person | None:
    person: Person | None = getattr(request, "person", None)
    return person


def person_context(request: HttpRequest) -> dict[str, Any]:
    """What every template knows about the person: never their token."""
    person = person_of(request)
    return {
        "person": None
        if person is None
        else {
            "subject": person.subject,
            "is_operator": person.is_operator,
            "is_customer": person.is_customer,
        },
        "dev_sign_in": settings.CONSOLE_DEV_SIGN_IN,
        "refresh_seconds": settings.CONSOLE_REFRESH_SECONDS,
    }


View = Callable[..., HttpResponse]


def _page_of(request: HttpRequest) -> str:
    """The page the person is on: for an htmx fragment or button, the page that holds it (htmx names it
    in HX-Current-URL), not the fragment's own URL; sign-in checks it is this site's before going back."""
    current = request.headers.get("HX-Current-URL", "")
    if request.headers.get("HX-Request") and current:
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()


def _sign_in_first(request: HttpRequest) -> HttpResponse:
    target = "/signin?" + urlencode({"next": _page_of(request)})
    if request.headers.get("HX-Request"):
        # A live fragment whose session ended: send the whole page to sign-in, not a fragment of it.
        response = HttpResponse(status=401)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)


def requires(role: str) -> Callable[[View], View]:
    """Pages for one role: sign-in first if nobody is signed in, a 403 page for anyone else."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            person = person_of(request)
            if person is None:
                return _sign_in_first(request)
            if role not in person.roles:
                return render(request, "console/forbidden.html", {"role": role}, status=403)
            return view(request, *args, **kwargs)

        return guarded

    return decorate


customer_only = requires(CUSTOMER)
operator_only = requires(OPERATOR)
