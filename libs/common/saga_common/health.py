"""Liveness and readiness endpoints, the same on every service."""

from django.db import connection
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saga_common.kafka import broker_reachable


class LiveView(APIView):
    """The process answers HTTP."""

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyView(APIView):
    """The service can do its work: its database and the broker answer."""

    def get(self, request: Request) -> Response:
        checks = {"database": _database_ok(), "broker": broker_reachable()}
        ready = all(checks.values())
        return Response(
            {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
        )


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return False
    return True
