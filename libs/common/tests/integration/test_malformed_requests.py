"""Requests every service refuses before any view reads them, on the endpoints every service mounts: a
NUL or a lone surrogate in the path or the query is a JSON 400 (or 404) that changes nothing, never a
500; a malformed filter of the dead letters is a 400 naming it, never an empty page."""

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse, QueryDict
from django.test import RequestFactory
from rest_framework.test import APIClient

from saga_common.models import DeadLetter, DeadLetterStatus
from saga_common.web.middleware import UnstorableTextMiddleware
from saga_testing.malformed import NUL, SURROGATE, assert_refused, without_raising
from tests.integration.test_operations_api import DEAD_LETTERS, dead_letter

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        f"{DEAD_LETTERS}?status=PENDING{NUL}",
        f"{DEAD_LETTERS}?status={SURROGATE}",
        f"{DEAD_LETTERS}?{NUL}=PENDING",
        f"{DEAD_LETTERS}?limit=1&offset=0{NUL}",
        f"{DEAD_LETTERS}/{NUL}/replay",
        f"/api/v1/operations/messaging?{NUL}",
        f"/api/v1/operations/{NUL}",
        f"/api/schema/?format=json{NUL}",
    ],
)
def test_a_nul_or_surrogate_in_the_url_is_refused(operator_api: APIClient, url: str) -> None:
    assert_refused(without_raising(operator_api).get(url))


def test_a_nul_in_the_query_of_an_action_changes_nothing(operator_api: APIClient) -> None:
    letter = dead_letter()
    refused = operator_api.post(f"{DEAD_LETTERS}/{letter.id}/discard?reason={NUL}")
    assert_refused(refused)
    assert refused.json() == {"detail": "the query holds a NUL or a lone surrogate, or is not UTF-8"}
    assert DeadLetter.objects.get().status == DeadLetterStatus.PENDING


@pytest.mark.parametrize(
    ("where", "path", "query"),
    [
        ("path", "/api/v1/operations/dead-letters/\ud800", ""),
        ("path", "/api/v1/operations/dead-letters/\x00", ""),
        ("query", "/api/v1/operations/dead-letters", "status=\udc80"),
        ("query", "/api/v1/operations/dead-letters", "\udfff=1"),
    ],
)
def test_a_surrogate_that_reaches_django_is_refused_too(where: str, path: str, query: str) -> None:
    """Django's WSGI handler cannot make a lone surrogate (it re-encodes invalid UTF-8), but a request
    built otherwise can carry one: the check does not rely on the handler."""
    request = RequestFactory().get("/")
    request.path_info = path
    given = QueryDict(mutable=True)
    if query:
        name, value = query.split("=")
        given[name] = value
    request.GET = given  # type: ignore[assignment]
    answered = UnstorableTextMiddleware(_never_called)(request)
    assert (answered.status_code, answered["Content-Type"]) == (400, "application/json")
    assert where in answered.content.decode()


def _never_called(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the request reached the view")


@pytest.mark.parametrize(
    "query",
    [{"status": "LOST"}, {"status": "pending"}, {"status": ""}, {"status": ["PENDING", "DISCARDED"]}],
)
def test_a_malformed_filter_is_a_400_naming_it(operator_api: APIClient, query: dict[str, Any]) -> None:
    assert_refused(operator_api.get(DEAD_LETTERS, query), field="status")


def test_a_valid_status_still_filters(operator_api: APIClient) -> None:
    letter = dead_letter()
    (found,) = operator_api.get(DEAD_LETTERS, {"status": "PENDING"}).json()["results"]
    assert found["id"] == str(letter.id)
    assert operator_api.get(DEAD_LETTERS, {"status": "DISCARDED"}).json()["count"] == 0
