"""gunicorn settings of every web process: ``gunicorn --config python:saga_common.web.gunicorn_conf``.

The web's Prometheus metrics go on ``METRICS_PORT``, apart from the public API, as the worker's do.
They are served from the gunicorn worker process, where the counters are, once the application has
loaded. That needs one worker process (``WEB_CONCURRENCY=1``, threads for concurrency, as the images
run): a second one could not bind the port, and each would count only its own requests, so more
processes with a metrics port are refused rather than half counted.

Its lines are the services' JSON lines (``LOG_FORMAT=plain``: readable ones), its access log included:
one line per request with its method, path, status, duration and correlation id
(``saga_common.observability.logs.gunicorn_logging_config``). Tracing is set up with the application
(``saga_common.web.wsgi``); ``worker_exit`` exports the spans still waiting when a worker process ends.
"""

import os
from typing import Any

from saga_common.observability.logs import gunicorn_logging_config

logconfig_dict = gunicorn_logging_config(
    os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO")
)
access_log_format = "%(m)s %(U)s %(s)s %(M)sms"  # the line's message; its fields are what count

# How long an idle kept-alive connection stays open (gunicorn's default: 2 s). A server that closes one
# just as a client sends a request on it resets that request (the soak saw 5 in 3,000 POSTs on a busy
# machine), so the client should be the one to close: longer than our client's idle limit (httpx's
# keepalive_expiry, 5 s). Not much longer: gunicorn gives a connection that never sends anything this
# long too, and a stopping worker waits for those (up to --graceful-timeout). Behind a load balancer
# that keeps idle connections longer (60 s is common), run with GUNICORN_CMD_ARGS="--keep-alive 65".
keepalive = 10


def worker_exit(server: Any, worker: Any) -> None:
    from saga_common.observability import tracing

    tracing.shutdown()


def post_worker_init(worker: Any) -> None:
    from django.conf import settings

    if not settings.METRICS_PORT:
        return
    from django.utils.module_loading import import_string

    if worker.cfg.workers > 1:
        raise RuntimeError(
            f"METRICS_PORT needs one gunicorn worker process, not {worker.cfg.workers} "
            "(set WEB_CONCURRENCY=1, or METRICS_PORT=0 for no metrics)"
        )
    # The services' saga_common.monitoring.serve_metrics; the console names its own (it has no outbox).
    import_string(settings.METRICS_SERVER)(settings.METRICS_PORT)
