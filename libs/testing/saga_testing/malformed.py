"""Requests no endpoint may take: a NUL or a lone surrogate in the path or the query (a name or a
value), and malformed filters. Each suite lists its own endpoints and checks the answers with these.

Written percent-encoded, as a client would send them: the test client decodes them as a server does.
"""

from typing import Any

NUL = "%00"
# U+D800 as UTF-8 would encode it if it could: no valid UTF-8. Django re-percent-encodes it in a path
# (a view sees the literal "%ED%A0%80") and reads it as U+FFFD in a query.
SURROGATE = "%ED%A0%80"


def assert_refused(response: Any, *, field: str | None = None) -> None:
    """A JSON refusal: 400 (or 404, a path no route matches), never a 500; naming ``field`` if given."""
    assert response.status_code in (400, 404), (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    if field is not None:
        assert (response.status_code, field in response.json()) == (400, True), response.json()


def without_raising(client: Any) -> Any:
    """``client``, answering a server error with the 500 the caller would get rather than raising it."""
    client.raise_request_exception = False
    return client
