"""The counters and histograms of the messaging and the sagas, updated where things happen.

Every metric of the project is named ``sagaref_...`` (``NAMESPACE``, the project's CloudEvents
namespace), django-prometheus's HTTP metrics too (``PROMETHEUS_METRIC_NAMESPACE``), so the names
cannot collide with another application's on a shared Prometheus. What is read when Prometheus scrapes
(the outbox backlog, consumer lag, dead letters, sagas by state) and the endpoint that serves it all
are in ``saga_common.monitoring``.
"""

from prometheus_client import Counter, Gauge, Histogram

NAMESPACE = "sagaref"

# From seconds to the longest a saga can run through all its attempts (a few minutes by default).
_SAGA_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

SAGAS_FINISHED = Counter(
    "saga_finished", "Sagas that reached an end state", ["saga", "state"], namespace=NAMESPACE
)  # exported as sagaref_saga_finished_total
SAGA_SECONDS = Histogram(
    "saga_duration_seconds",
    "From a saga's start to its end state, per saga and end state",
    ["saga", "state"],
    buckets=_SAGA_BUCKETS,
    namespace=NAMESPACE,
)
SAGA_STEP_SECONDS = Histogram(
    "saga_step_duration_seconds",
    "From sending a step's command to its answer (or giving up), per step and outcome",
    ["saga", "step", "outcome"],
    buckets=_SAGA_BUCKETS[:-2],
    namespace=NAMESPACE,
)
INBOX_MESSAGES = Counter(
    "inbox_messages", "Messages the inbox consumer finished with", ["topic", "outcome"], namespace=NAMESPACE
)  # outcome: handled, duplicate, dead_lettered
OUTBOX_PUBLISHED = Counter(
    "outbox_published", "Outbox rows the relay published (acknowledged)", namespace=NAMESPACE
)
OUTBOX_REFUSED = Counter(
    "outbox_refused",
    "Outbox rows refused for good (too large, bad topic) and set aside",
    ["reason"],
    namespace=NAMESPACE,
)
DEAD_LETTER_COPIES = Counter(
    "dead_letter_copies",
    "Copies of dead letters sent to <topic>.dlq; the database row is the dead letter, the copy a courtesy",
    ["outcome"],
    namespace=NAMESPACE,
)  # outcome: sent, trimmed (payload replaced by a reference: the broker refused its size), lost
WORKER_HEARTBEAT = Gauge(
    "worker_heartbeat_timestamp_seconds",
    "When the worker last saw every one of its loops running (Unix time)",
    namespace=NAMESPACE,
)
