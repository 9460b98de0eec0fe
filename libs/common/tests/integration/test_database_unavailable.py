"""A web whose database is away answers 503 JSON (not 500), and answers again once it is back."""

import socket
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(transaction=True)  # the test closes and reopens the connection


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


@pytest.mark.parametrize("path", ["/api/v1/operations/dead-letters", "/api/v1/operations/messaging"])
def test_a_database_that_is_away_is_a_503_json_and_the_web_recovers(
    operator_api: APIClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    assert operator_api.get(path).status_code == 200
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "PORT", closed_port())
    away: Any = operator_api.get(path)
    assert away.status_code == 503, away.content
    assert away["Content-Type"] == "application/json"
    assert "database is unavailable" in away.json()["detail"]
    assert away["Retry-After"] == "2"
    # once the database is back, the very next request is served
    monkeypatch.undo()
    connection.close()
    assert operator_api.get(path).status_code == 200
