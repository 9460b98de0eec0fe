"""Who is calling: bearer tokens (JWT, validated by djangorestframework-simplejwt) and the two roles.

The services need no user table: the token says who the caller is. A token's ``sub`` is the
customer id (for customers) or the operator's name, and ``roles`` lists ``customer`` and/or
``operator``.

- Customers see and create only their own orders, accounts and payments; anything else is 404.
- Operators see everything and alone may open accounts and push stuck sagas (retry/compensate).

Which tokens are valid depends on the settings (see ``token_backend``):

- ``JWT_JWKS_URL`` set (any deployment with an identity provider): tokens signed with one of
  ``JWT_ALGORITHMS`` (RS256, ES256) by a key the provider publishes there, for ``JWT_AUDIENCE``,
  issued by ``JWT_ISSUER``, not expired. Nothing else, HS256 included: the public keys are no secret,
  so a token "signed" with one as an HMAC key must not pass (each key is bound to its algorithm).
- Otherwise (development, tests): HS256 tokens signed with the shared ``JWT_SIGNING_KEY``, which
  ``manage.py issue_token`` mints (``saga_common.web.tokens``).

Either way ``alg=none``, bad signatures, expired tokens and any other algorithm are a 401.
"""

import functools
from typing import TYPE_CHECKING, Any

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

if TYPE_CHECKING:  # DRF imports this module while loading its settings: no runtime import of views
    from rest_framework.views import APIView
    from rest_framework_simplejwt.tokens import Token

from saga_common.web.tokens import CUSTOMER, OPERATOR, ROLES, mint_token

__all__ = ["CUSTOMER", "OPERATOR", "BearerTokenAuthentication", "Principal", "mint_token"]


class Principal:
    """The caller as its token describes it (simplejwt's ``TOKEN_USER_CLASS``)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, token: "Token") -> None:
        self.subject = str(token["sub"])
        roles = token.get("roles", [])
        self.roles = (
            frozenset(role for role in roles if role in ROLES) if isinstance(roles, list) else frozenset()
        )

    @property
    def is_operator(self) -> bool:
        return OPERATOR in self.roles

    @property
    def customer_id(self) -> str | None:
        """The customer this caller acts as, or None for an operator-only token."""
        return self.subject if CUSTOMER in self.roles else None

    def __str__(self) -> str:
        return f"{self.subject} ({', '.join(sorted(self.roles)) or 'no role'})"


class BearerTokenAuthentication(JWTStatelessUserAuthentication):
    """``Authorization: Bearer <jwt>``; the one authentication class of every service."""


class ProviderTokenBackend(TokenBackend):
    """Verifies an identity provider's tokens with the keys its JWKS URL publishes (cached, and
    fetched again for a key id it does not know yet, so the provider can rotate its keys)."""

    def __init__(self, jwks_url: str, algorithms: list[str], audience: str, issuer: str, leeway: Any) -> None:
        super().__init__(algorithms[0], audience=audience, issuer=issuer, leeway=leeway)
        self.algorithms = algorithms
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=False, lifespan=300, timeout=5)

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        try:
            # A PyJWK is bound to its key's algorithm: a token naming another one is refused.
            key = self.jwks.get_signing_key_from_jwt(token)
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.get_leeway(),
                options={"require": ["exp", "iss", "aud", "sub"], "verify_signature": verify},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("Token is expired") from exc
        except jwt.PyJWTError as exc:  # invalid tokens, unknown keys, and a provider out of reach
            raise TokenBackendError("Token is invalid") from exc
        return payload


@functools.cache
def token_backend() -> TokenBackend:
    """The backend the settings choose: the identity provider's keys, or the shared HS256 key."""
    if settings.JWT_JWKS_URL:
        return ProviderTokenBackend(
            settings.JWT_JWKS_URL,
            list(settings.JWT_ALGORITHMS),
            settings.JWT_AUDIENCE,
            settings.JWT_ISSUER,
            api_settings.LEEWAY,
        )
    return TokenBackend(api_settings.ALGORITHM, api_settings.SIGNING_KEY, leeway=api_settings.LEEWAY)


@receiver(setting_changed)
def _forget_token_backend(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("JWT_") or setting == "SIMPLE_JWT":
        token_backend.cache_clear()


class BearerToken(AccessToken):
    """The token every request carries (simplejwt's ``AUTH_TOKEN_CLASSES``), checked by
    ``token_backend()``."""

    def get_token_backend(self) -> TokenBackend:
        return token_backend()

    def verify(self) -> None:
        if not settings.JWT_JWKS_URL:
            # With a provider, the backend has checked signature, expiry, audience and issuer; a token
            # type claim and a jti are simplejwt's conventions, which a provider's tokens need not follow.
            super().verify()
        subject = self.payload.get("sub")
        # The subject is a customer id downstream (64-character columns, message ids): refuse what no
        # customer id can be, rather than fail later with a 500 or a dead letter.
        if not isinstance(subject, str) or not 1 <= len(subject) <= 64 or not subject.isprintable():
            raise TokenError("Token has no valid subject")


class IsCustomerOrOperator(BasePermission):
    """Any valid token with a role (the default for every endpoint)."""

    message = "this endpoint needs a customer or operator token"

    def has_permission(self, request: Request, view: "APIView") -> bool:
        user = request.user
        return isinstance(user, Principal) and bool(user.roles)


class IsOperator(BasePermission):
    message = "this endpoint needs an operator token"

    def has_permission(self, request: Request, view: "APIView") -> bool:
        user = request.user
        return isinstance(user, Principal) and user.is_operator


def principal(request: Request) -> Principal:
    """The authenticated caller (views behind the default permission always have one)."""
    user = request.user
    if not isinstance(user, Principal):  # pragma: no cover - the permission classes prevent it
        raise TypeError("no authenticated principal on this request")
    return user


def visible_customer(request: Request) -> str | None:
    """Restrict reads to this customer id, or None when the caller (an operator) may see all."""
    caller = principal(request)
    return None if caller.is_operator else caller.subject
