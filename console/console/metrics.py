"""The console's Prometheus metrics, on ``METRICS_PORT`` like the services' (never the public port):
the requests it answered, by view and status, and how long they took; the calls it made to the APIs,
by service and outcome, and how long they took.

gunicorn starts the endpoint (``saga_common.web.gunicorn_conf`` calls ``settings.METRICS_SERVER``, this
module's ``serve_metrics``): the services' own server would read outbox tables the console does not
have. Names start with ``sagaref_`` like every metric of the project.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram, start_http_server

logger = logging.getLogger(__name__)

NAMESPACE = "sagaref"  # saga_common.observability.metrics.NAMESPACE (not imported: its saga metrics)
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "console_http_requests",
    "Requests the console answered, by view, method and status",
    ["view", "method", "status"],
    namespace=NAMESPACE,
)
REQUEST_SECONDS = Histogram(
    "console_http_request_duration_seconds",
    "How long the console took to answer, by view",
    ["view"],
    buckets=_BUCKETS,
    namespace=NAMESPACE,
)
API_CALLS = Counter(
    "console_api_calls",
    "Calls the console made to the APIs, by service and outcome",
    ["service", "outcome"],
    namespace=NAMESPACE,
)  # outcome: ok, not_found, refused, unauthorized, server_error, unavailable, unreadable
API_CALL_SECONDS = Histogram(
    "console_api_call_duration_seconds",
    "How long an API took to answer the console, by service",
    ["service"],
    buckets=_BUCKETS,
    namespace=NAMESPACE,
)


def view_name(request: HttpRequest) -> str:
    """The URL pattern's name (``sagas``, ``saga-live``, ...): a few values, never the path's ids."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or "unnamed"
    return "static" if request.path.startswith(settings.STATIC_URL) else "unmatched"


class RequestMetricsMiddleware:
    """Count and time every answer, the error pages of the middleware below it included (first in
    ``MIDDLEWARE``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        view = view_name(request)
        REQUESTS.labels(view, _method(request.method), str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view).observe(time.perf_counter() - started)
        return response


def observe_api_call(service: str, outcome: str, seconds: float) -> None:
    API_CALLS.labels(service, outcome).inc()
    API_CALL_SECONDS.labels(service).observe(seconds)


def serve_metrics(port: int) -> None:
    """Expose the console's metrics on ``port``, in a thread of its own."""
    start_http_server(port)
    logger.info("metrics on :%d/metrics", port)


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(method: str | None) -> str:
    """The method as a label: any other name a client sends is "other", so no client can make series."""
    return method if method in _KNOWN_METHODS else "other"
