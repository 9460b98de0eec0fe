"""The orchestrator's sagas as gauges (its worker serves them: ``saga_common.monitoring``): how many in
each state, the oldest still running, how many run longer than their steps allow, and how many
unfinished sagas each definition version still has (the count that says when a version can go).
"""

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string
from prometheus_client.core import GaugeMetricFamily

from saga_common.observability.metrics import NAMESPACE


def _registered_versions() -> set[tuple[str, int]]:
    """Every (saga, version) the process's engine registers (``SAGA_ENGINE``): each gets its series, at 0
    when no unfinished saga runs it, which is when it may be retired."""
    engine_path = getattr(settings, "SAGA_ENGINE", "")
    if not engine_path:
        return set()
    return {(definition.name, definition.version) for definition in import_string(engine_path).registry}


def _gauge(name: str, documentation: str, **kwargs: Any) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", documentation, **kwargs)


def step_allowance_seconds() -> float:
    """How long one step may take through all of its attempts under the settings' retry policy (the
    waits of ``saga_common.sagas.definition.RetryPolicy``: doubling from the timeout, capped)."""
    timeout, cap = settings.SAGA_STEP_TIMEOUT_SECONDS, settings.SAGA_STEP_MAX_WAIT_SECONDS
    return float(sum(min(timeout * 2**attempt, cap) for attempt in range(settings.SAGA_STEP_MAX_ATTEMPTS)))


# The sagas still running or waiting for an operator, counted: few, read from their partial index
# (saga_instance_unfinished, saga_common.sagas.models, where these states are UNFINISHED_STATES).
_UNFINISHED = ("RUNNING", "COMPENSATING", "FAILED")
_UNFINISHED_SAGAS = (
    "SELECT saga_type, state, version, count(*) FROM {instances} WHERE state IN %s GROUP BY 1, 2, 3"
)
# The sagas that ended, estimated: most of the table, which counting would read whole at every scrape.
# Its rows as of the last ANALYZE (autovacuum's), times the shares of the type and of the state there;
# none before the first. Their rate is sagaref_saga_finished_total's.
_FINISHED_SAGAS = """
    WITH share AS (
        SELECT attname, unnest(most_common_vals::text::text[]) AS value, unnest(most_common_freqs) AS freq
        FROM pg_stats WHERE schemaname = current_schema() AND tablename = %(table)s AND NOT inherited
    )
    SELECT kind.value, state.value, round(greatest(c.reltuples, 0) * kind.freq * state.freq)
    FROM share kind, share state, pg_class c
    WHERE kind.attname = 'saga_type' AND state.attname = 'state' AND state.value NOT IN %(unfinished)s
      AND c.oid = %(table)s::regclass
"""
# The saga types there are (every one keeps its series), by a loose scan of the (saga_type, order_id)
# index: one LIMIT 1 probe per type.
_SAGA_TYPES = """WITH RECURSIVE kind AS ((SELECT saga_type FROM {instances} ORDER BY 1 LIMIT 1) UNION ALL
    SELECT (SELECT i.saga_type FROM {instances} i WHERE i.saga_type > kind.saga_type ORDER BY 1 LIMIT 1)
    FROM kind WHERE kind.saga_type IS NOT NULL) SELECT saga_type FROM kind WHERE saga_type IS NOT NULL"""
# Per saga type: the oldest running saga's age, and how many have run longer than their steps allow.
_RUNNING_SAGAS = """
    SELECT saga_type, max(age), count(*) FILTER (WHERE age > %s * greatest(taken, 1)) FROM (
        SELECT i.saga_type, extract(epoch FROM now() - i.created_at) AS age,
               (SELECT count(*) FROM {steps} s WHERE s.saga_id = i.id) AS taken
        FROM {instances} i WHERE i.state IN ('RUNNING', 'COMPENSATING')
    ) AS running GROUP BY saga_type
"""


def saga_gauges() -> Iterator[GaugeMetricFamily]:
    """The orchestrator's sagas: by type and state; per type the oldest one still running (or
    compensating) and how many of those run longer than their steps' attempts allow (each step taken
    so far its whole ``step_allowance_seconds``), which the deadline sweep should have prevented.

    The sagas still running or FAILED are counted; those that ended are PostgreSQL's estimate."""
    instances = apps.get_model("sagas", "SagaInstance")._meta.db_table
    steps = apps.get_model("sagas", "SagaStep")._meta.db_table
    states = [value for value, _ in apps.get_model("sagas", "SagaInstance")._meta.get_field("state").choices]
    with connection.cursor() as cursor:
        cursor.execute(_FINISHED_SAGAS, {"table": instances, "unfinished": _UNFINISHED})
        counts = {(saga, state): int(count) for saga, state, count in cursor.fetchall()}
        cursor.execute(_UNFINISHED_SAGAS.format(instances=instances), [_UNFINISHED])
        unfinished: dict[tuple[str, str], int] = {}
        by_version: dict[tuple[str, int], int] = {}
        for saga, state, version, count in cursor.fetchall():
            unfinished[(saga, state)] = unfinished.get((saga, state), 0) + count
            by_version[(saga, version)] = by_version.get((saga, version), 0) + count
        counts.update(unfinished)
        cursor.execute(_RUNNING_SAGAS.format(instances=instances, steps=steps), [step_allowance_seconds()])
        running = {saga: (float(oldest), overdue) for saga, oldest, overdue in cursor.fetchall()}
        cursor.execute(_SAGA_TYPES.format(instances=instances))
        known = {saga for (saga,) in cursor.fetchall()}
    types = sorted(known | {saga for saga, _ in counts})
    by_state = _gauge(
        "sagas",
        "Sagas in each state (FAILED ones wait for an operator; those that ended are estimated)",
        labels=["saga", "state"],
    )
    oldest = _gauge(
        "saga_oldest_running_age_seconds",
        "Age of the oldest saga still running or compensating",
        labels=["saga"],
    )
    overdue = _gauge(
        "sagas_overdue", "Sagas running longer than their steps' attempts allow", labels=["saga"]
    )
    for saga in types:
        for state in states:
            by_state.add_metric([saga, state], counts.get((saga, state), 0))
        age, late = running.get(saga, (0.0, 0))
        oldest.add_metric([saga], max(age, 0.0))
        overdue.add_metric([saga], late)
    versions = _gauge(
        "sagas_unfinished_by_version",
        "Sagas running, compensating or FAILED on each version of their definition (retire one at 0)",
        labels=["saga", "version"],
    )
    for saga, version in sorted(set(by_version) | _registered_versions()):
        versions.add_metric([saga, str(version)], by_version.get((saga, version), 0))
    yield from (by_state, oldest, overdue, versions)
