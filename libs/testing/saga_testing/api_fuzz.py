"""Schemathesis against a service's own OpenAPI schema, in-process through its WSGI application.

Each service's suite turns this into tests with one line each; they generate requests for every
operation (valid and invalid, with a customer's or an operator's token) and fail on any 5xx, any
response that does not match the schema, and any endpoint that ignores its declared authentication.

The schema is loaded when the test module is imported (pytest-django has configured Django by
then): schemathesis' fixture-based loader does not work with pytest 9.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

MAX_EXAMPLES = 40

# Every other check runs (no 5xx, documented status codes and content types, responses that match
# their schema, authentication not ignored, ...). These two guess whether the server should have
# accepted or refused a request from the schema alone; rules the schema cannot express (NUL bytes
# refused, an operator must name the customer) make them report what is intended behaviour.
HEURISTIC_CHECKS = [checks.negative_data_rejection, checks.positive_data_acceptance]


@contextmanager
def _keep_test_connection() -> Iterator[None]:
    """Django closes the connection when a WSGI request ends, which would end the test's transaction;
    Django's own test client avoids it the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def schema_conformance_test(*, operator: bool) -> Callable[..., None]:
    """A test that calls every operation as a customer (``c-1``) or as an operator."""
    from django.core.wsgi import get_wsgi_application

    whole = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    schema = whole.exclude(path_regex="^/healthz/")  # probes: tested on their own, need the broker

    @schema.parametrize()
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def test_every_operation_conforms_to_the_schema(case: Any, db: None) -> None:
        from django.conf import settings as django_settings

        from saga_common.web.auth import CUSTOMER, OPERATOR, mint_token

        subject, role = ("ops", OPERATOR) if operator else ("c-1", CUSTOMER)
        token = mint_token(django_settings.SIMPLE_JWT["SIGNING_KEY"], subject, [role])
        if case.headers and "Idempotency-Key" in case.headers:
            # Generated cases reuse keys with other bodies, which is rightly a 422; the key's own
            # semantics are tested elsewhere, so give each case a key of its own.
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
        with _keep_test_connection():
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, excluded_checks=HEURISTIC_CHECKS
            )
            # Authentication is not ignored: without a token the same request is refused (a path
            # that matches no route, such as a malformed id, is a 404 before anyone is asked, and a
            # path or query holding text no database can store is a 400 before anyone is asked).
            if case.operation.definition.raw.get("security") != [{}]:
                anonymous = case.call()
                no_route = anonymous.status_code == response.status_code == 404
                unstorable = anonymous.status_code == response.status_code == 400 and (
                    b"NUL or a lone surrogate" in anonymous.content
                )
                assert anonymous.status_code == 401 or no_route or unstorable, (
                    f"{case.operation.label} answered {anonymous.status_code} without a token"
                )

    return test_every_operation_conforms_to_the_schema
