"""The counters and histograms of the messaging and the sagas, updated where things happen.

HTTP metrics come from django-prometheus. What is read when Prometheus scrapes (the outbox backlog,
consumer lag, dead letters) and the endpoint that serves it all are in
``saga_common.monitoring``.
"""

from prometheus_client import Counter, Histogram

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
