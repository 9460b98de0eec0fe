"""Mint bearer tokens (what an identity provider would issue). Pure PyJWT, importable without Django,
so tools and end-to-end tests can create the tokens the services accept."""

import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt

CUSTOMER, OPERATOR = "customer", "operator"
ROLES = (CUSTOMER, OPERATOR)
ALGORITHM = "HS256"
# The services' default key (settings: JWT_SIGNING_KEY). Any real deployment sets its own.
DEV_SIGNING_KEY = "dev-only-jwt-signing-key-change-me-in-any-deployment"


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
