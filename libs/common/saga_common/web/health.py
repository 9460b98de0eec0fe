"""Liveness and readiness endpoints, the same on every service."""

from django.db import connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class PublicView(APIView):
    """Probes and the schema are for anyone (kubelets, load balancers, client generators)."""

    authentication_classes = []
    permission_classes = [AllowAny]


class LiveView(PublicView):
    """The process answers HTTP."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyView(PublicView):
    """The web can take requests: its database answers.

    Not the broker: a request's messages go to the outbox in the same transaction, and the worker
    publishes them once the broker is back, so orders are taken while it is away. Taking the web
    out of service then would refuse them for nothing. The broker is the worker's concern.
    """

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        checks = {"database": _database_ok()}
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
