"""How big this service's tables are: what the operators' messaging health shows and the worker exports
to Prometheus (``sagaref_table_rows{table}``, ``sagaref_table_bytes{table}``), to see that pruning keeps
up (``saga_common.messaging.retention``, ``saga_common.sagas.retention``).

Both come from PostgreSQL's catalog, never from reading the rows: the rows are its estimate
(``pg_class.reltuples``, as of the last VACUUM or ANALYZE, which autovacuum runs as a table changes),
the bytes ``pg_total_relation_size`` (the table, its indexes and its TOAST).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import connection
from prometheus_client.core import GaugeMetricFamily

from saga_common.observability.metrics import NAMESPACE


@dataclass(frozen=True)
class TableSize:
    table: str
    rows: int | None  # PostgreSQL's estimate; None: the table was never analysed
    bytes: int


def service_tables() -> list[str]:
    """The tables of the service's models: its own, the outbox's and inbox's, the dead letters', the
    sagas' where installed; not those of Django's own apps (users, content types)."""
    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.managed and not model._meta.app_config.name.startswith("django.")
        }
    )


_SIZES = """
    SELECT c.relname, c.reltuples, pg_total_relation_size(c.oid) FROM pg_class c
    WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%s)
    ORDER BY c.relname
"""


def table_sizes() -> list[TableSize]:
    """Each of the service's tables, by name, with its estimated rows and its bytes."""
    with connection.cursor() as cursor:
        cursor.execute(_SIZES, [service_tables()])
        rows = cursor.fetchall()
    # reltuples is -1 until the first VACUUM or ANALYZE (PostgreSQL 14 and later)
    return [TableSize(name, int(tuples) if tuples >= 0 else None, int(size)) for name, tuples, size in rows]


def table_gauges() -> Iterator[GaugeMetricFamily]:
    """``sagaref_table_rows`` (a table never analysed has none) and ``sagaref_table_bytes``, by table."""
    rows = GaugeMetricFamily(
        f"{NAMESPACE}_table_rows", "Rows of the table, as PostgreSQL estimates them", labels=["table"]
    )
    size = GaugeMetricFamily(
        f"{NAMESPACE}_table_bytes", "Bytes of the table with its indexes and TOAST", labels=["table"]
    )
    for table in table_sizes():
        if table.rows is not None:
            rows.add_metric([table.table], table.rows)
        size.add_metric([table.table], table.bytes)
    yield from (rows, size)
