"""Mint bearer tokens, HS256 with the shared key: what the services accept when no identity provider
is configured (``JWT_JWKS_URL`` unset). Pure PyJWT, importable without Django, so tools and
end-to-end tests can create them."""

import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt

CUSTOMER, OPERATOR = "customer", "operator"
ROLES = (CUSTOMER, OPERATOR)
ALGORITHM = "HS256"


def mint_token(
    signing_key: str, subject: str, roles: Sequence[str], *, lifetime_seconds: int = 3600, **claims: Any
) -> str:
    """Return a signed access token for ``subject`` with ``roles``."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; use {ROLES}")
    now = int(time.time())
    payload = {
        "token_type": "access",
        "sub": subject,
        "roles": list(roles),
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, signing_key, algorithm=ALGORITHM)
