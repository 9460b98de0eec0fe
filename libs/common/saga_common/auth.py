"""Who is calling: bearer tokens (JWT, validated by djangorestframework-simplejwt) and the two roles.

Every service trusts the same signing key (``JWT_SIGNING_KEY``) and needs no user table: the token
says who the caller is. A token's ``sub`` is the customer id (for customers) or the operator's name,
and ``roles`` lists ``customer`` and/or ``operator``.

- Customers see and create only their own orders, accounts and payments; anything else is 404.
- Operators see everything and alone may open accounts and push stuck sagas (retry/compensate).

Tokens are signed with HS256 only; ``alg=none``, other algorithms, bad signatures, expired tokens and
tokens of another type are refused with 401. ``manage.py issue_token`` mints one for local use
(``saga_common.tokens``).
"""

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

if TYPE_CHECKING:  # DRF imports this module while loading its settings: no runtime import of views
    from rest_framework.views import APIView
    from rest_framework_simplejwt.tokens import Token

from saga_common.tokens import CUSTOMER, OPERATOR, ROLES, mint_token

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
