"""Tokens of an identity provider: RS256/ES256, verified with the keys its JWKS URL publishes, for our
audience and from our issuer; anything else (HS256 included) is a JSON 401.

The provider is played by a local HTTP server serving the public halves of an RSA and an EC key.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from saga_common.dev_keys import DEV_SIGNING_KEY
from saga_common.web.auth import principal
from saga_common.web.tokens import mint_token

ISSUER = "https://idp.test/"
AUDIENCE = "saga-api"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks() -> bytes:
    keys = [
        {**RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"},
        {**ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"},
    ]
    return json.dumps({"keys": keys}).encode()


class JwksHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = jwks()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
def provider(settings: SettingsWrapper, jwks_url: str) -> SettingsWrapper:
    settings.JWT_JWKS_URL = jwks_url
    settings.JWT_ISSUER = ISSUER
    settings.JWT_AUDIENCE = AUDIENCE
    settings.JWT_ALGORITHMS = ["RS256", "ES256"]
    return settings


class WhoAmI(APIView):
    """Any endpoint behind the default authentication and permission."""

    def get(self, request: Request) -> Response:
        return Response({"subject": principal(request).subject})


def call(token: str) -> tuple[int, dict[str, Any]]:
    request = APIRequestFactory().get("/whoami", HTTP_AUTHORIZATION=f"Bearer {token}")
    response = WhoAmI.as_view()(request)
    response.render()
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def claims(**overrides: Any) -> dict[str, Any]:
    """What a provider issues: no token_type or jti, which are simplejwt's own conventions."""
    now = int(time.time())
    return {
        "sub": "c-1",
        "roles": ["customer"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
    } | overrides


def rs256(payload: dict[str, Any], key: Any = RSA_KEY, kid: str = "rsa-1") -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def es256(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_the_public_key(payload: dict[str, Any]) -> str:
    """The algorithm-confusion attack: HMAC with the published RSA key as the secret (PyJWT itself
    refuses to make such a token, so it is put together by hand)."""
    public = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode()
    signing_input = f"{b64(header)}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.usefixtures("provider")
def test_rs256_and_es256_tokens_of_the_provider_are_accepted() -> None:
    assert call(rs256(claims())) == (200, {"subject": "c-1"})
    assert call(es256(claims(sub="ops-1", roles=["operator"]))) == (200, {"subject": "ops-1"})


REFUSED = {
    "wrong audience": lambda: rs256(claims(aud="another-api")),
    "no audience": lambda: rs256({k: v for k, v in claims().items() if k != "aud"}),
    "wrong issuer": lambda: rs256(claims(iss="https://evil.test/")),
    "no issuer": lambda: rs256({k: v for k, v in claims().items() if k != "iss"}),
    "expired": lambda: rs256(claims(exp=int(time.time()) - 5)),
    "no expiry": lambda: rs256({k: v for k, v in claims().items() if k != "exp"}),
    "signed by another key": lambda: rs256(claims(), key=OTHER_RSA_KEY),
    "unknown key id": lambda: rs256(claims(), kid="rsa-2"),
    "RS256 with the EC key's id": lambda: rs256(claims(), kid="ec-1"),
    "alg none": lambda: jwt.encode(claims(), "", algorithm="none", headers={"kid": "rsa-1"}),
    "HS256 with the development key": lambda: mint_token(
        DEV_SIGNING_KEY, "c-1", ["customer"], aud=AUDIENCE, iss=ISSUER
    ),
    "HS256 signed with the public key": lambda: hs256_with_the_public_key(claims()),
    "garbage": lambda: "not.a.token",
}


@pytest.mark.usefixtures("provider")
@pytest.mark.parametrize("case", REFUSED)
def test_other_tokens_are_a_json_401(case: str) -> None:
    status, body = call(REFUSED[case]())
    assert status == 401, body
    assert "detail" in body


def test_an_unreachable_provider_is_a_401_not_a_500(provider: SettingsWrapper) -> None:
    provider.JWT_JWKS_URL = "http://127.0.0.1:1/jwks.json"  # nothing listens there
    status, body = call(rs256(claims()))
    assert (status, "detail" in body) == (401, True)


def test_without_a_provider_hs256_tokens_of_the_shared_key_are_the_ones_accepted() -> None:
    assert call(mint_token(DEV_SIGNING_KEY, "c-1", ["customer"])) == (200, {"subject": "c-1"})
    status, _ = call(rs256(claims()))
    assert status == 401
