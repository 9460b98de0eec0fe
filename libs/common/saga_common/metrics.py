"""Prometheus metrics of the messaging and the sagas (HTTP metrics come from django-prometheus).

Counters and histograms are updated where things happen; the outbox backlog, consumer lag and dead
letters are read when Prometheus scrapes (``MessagingCollector``), so they are never stale. Each
process serves its own at ``/metrics`` on ``METRICS_PORT``, never on the public API port: the worker
(the sagas move in the orchestrator's) and the web under ``saga_common.gunicorn_conf``.
"""

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

SAGAS_FINISHED = Counter(
    "saga_finished", "Sagas that reached an end state", ["saga", "state"]
)  # exported as saga_finished_total
SAGA_STEP_SECONDS = Histogram(
    "saga_step_duration_seconds",
    "From sending a step's command to its answer (or giving up), per step and outcome",
    ["saga", "step", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
INBOX_MESSAGES = Counter(
    "inbox_messages", "Messages the inbox consumer finished with", ["topic", "outcome"]
)  # outcome: handled, duplicate, dead_lettered
OUTBOX_PUBLISHED = Counter("outbox_published", "Outbox rows the relay published (acknowledged)")
OUTBOX_REFUSED = Counter(
    "outbox_refused", "Outbox rows refused for good (too large, bad topic) and set aside", ["reason"]
)


class MessagingCollector(Collector):
    """Outbox backlog and oldest row's age; with handlers, also consumer lag and dead letters."""

    def __init__(self, handlers: Any = None) -> None:
        self.handlers = handlers

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # without it, registering would call collect(), i.e. query the database at import

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from saga_common.monitoring import messaging_status
        from saga_common.relay import outbox_backlog, outbox_refused

        try:
            backlog, oldest = outbox_backlog()
        except Exception:  # a scrape must not fail because the database is briefly away
            logger.warning("outbox backlog unavailable for metrics", exc_info=True)
            return
        yield GaugeMetricFamily("outbox_backlog_rows", "Unpublished outbox rows", value=backlog)
        yield GaugeMetricFamily(
            "outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", value=oldest or 0.0
        )
        try:
            yield GaugeMetricFamily(
                "outbox_refused_rows", "Outbox rows set aside as refused for good", value=outbox_refused()
            )
        except Exception:
            logger.warning("refused outbox rows unavailable for metrics", exc_info=True)
        if self.handlers is None:
            return
        try:
            status = messaging_status(self.handlers, timeout=3.0)
        except Exception:
            logger.warning("consumer lag unavailable for metrics", exc_info=True)
            return
        lag = GaugeMetricFamily("consumer_lag_messages", "Messages not yet committed", labels=["topic"])
        for topic, value in status.consumer_lag.items():
            lag.add_metric([topic], value)
        yield lag
        dead = GaugeMetricFamily("dead_letter_messages", "Messages in a dead-letter topic", labels=["topic"])
        for topic, value in status.dead_letters.items():
            dead.add_metric([topic], value)
        yield dead


_collector = MessagingCollector()
_registered = False


def register_collector() -> None:
    """Register the scrape-time collector once per process (the app's ``ready`` does it)."""
    global _registered
    if not _registered:
        REGISTRY.register(_collector)
        _registered = True


def serve_metrics(port: int) -> None:
    """Expose this process's metrics on ``port`` (0: do not), in a thread of their own."""
    register_collector()
    if port:
        start_http_server(port)
        logger.info("metrics on :%d/metrics", port)


def serve_worker_metrics(port: int, handlers: Any) -> None:
    """Expose this worker's metrics on ``port`` (0: do not), consumer lag of ``handlers`` included."""
    register_collector()
    _collector.handlers = handlers
    serve_metrics(port)
