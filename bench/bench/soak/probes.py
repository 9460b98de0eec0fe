"""What the soak samples: every process's memory and CPU (``bench.run``'s readings), and from each
service's database its tables' sizes, its outbox backlog and its consumer lag."""

from typing import Any

import psycopg2
from django_outbox_pattern.choices import StatusChoice

from bench.run import cpu_seconds, memory
from bench.soak.figures import Sample

# django-outbox-pattern's Published and Received (their Meta.db_table), and our dead letters.
OUTBOX, INBOX, DEAD_LETTERS = "published", "received", "saga_dead_letter"
TABLES = {
    "orchestrator": (OUTBOX, INBOX, DEAD_LETTERS, "saga_instance", "saga_step", "saga_event"),
    "orders": (OUTBOX, INBOX, DEAD_LETTERS, "orders_idempotency_key"),
    "payments": (OUTBOX, INBOX, DEAD_LETTERS),
    "shipping": (OUTBOX, INBOX, DEAD_LETTERS),
}
# The statistics' counts, kept by PostgreSQL as rows come and go (no table scan; reported within a
# second of each commit): live rows, rows ever inserted, and the size with indexes and TOAST.
TABLE_SIZES = (
    "SELECT relname, n_live_tup, n_tup_ins, pg_total_relation_size(relid) "
    "FROM pg_stat_user_tables WHERE relname = ANY(%s)"
)
BACKLOG = f"SELECT count(*) FROM {OUTBOX} WHERE status <> %s"  # scheduled or failed: not yet published
# What the worker last measured at the broker, every MESSAGING_SNAPSHOT_SECONDS: {topic: lag} per group.
LAG = "SELECT consumer_lag, extract(epoch FROM now() - observed_at) FROM saga_messaging_snapshot"


class Databases:
    """One connection per service's database, kept for the run (autocommit: no snapshot held open)."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.connections: dict[str, Any] = {}
        for service in TABLES:
            connection = psycopg2.connect(urls[service])
            connection.autocommit = True
            self.connections[service] = connection

    def read(self, sample: Sample) -> None:
        for service, connection in self.connections.items():
            with connection.cursor() as cursor:
                cursor.execute(TABLE_SIZES, [list(TABLES[service])])
                for table, live, inserted, size in cursor.fetchall():
                    key = f"{service}/{table}"
                    sample.rows[key], sample.inserted[key], sample.bytes[key] = live, inserted, size
                cursor.execute(BACKLOG, [StatusChoice.SUCCEEDED.value])
                row = cursor.fetchone()
                sample.backlog[service] = int(row[0]) if row else 0
                cursor.execute(LAG)
                snapshots = cursor.fetchall()
            lags = [int(lag) for by_topic, _ in snapshots for lag in (by_topic or {}).values()]
            sample.lag[service] = sum(lags) if snapshots else None
            sample.lag_age[service] = max(float(age) for _, age in snapshots) if snapshots else None

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


def sample(t: float, pids: dict[str, int], databases: Databases, exited: list[str]) -> Sample:
    """Everything at once, ``t`` seconds into the run."""
    taken = Sample(
        t=round(t, 2),
        rss={name: memory(name, pid) for name, pid in pids.items()},
        cpu={name: round(used, 3) for name, used in cpu_seconds(pids).items()},
        exited=exited,
    )
    databases.read(taken)
    return taken
