"""What PostgreSQL's statistics tell the operators: how big each table of the service is (the messaging
health, Prometheus), and how many sagas ended, estimated rather than counted at every scrape."""

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaException
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django_outbox_pattern.models import Received
from rest_framework.test import APIClient

from saga_common import monitoring
from saga_common.monitoring import MessagingCollector
from saga_common.saga_metrics import saga_gauges
from saga_common.sagas.definition import SagaState
from saga_common.sagas.models import SagaInstance
from saga_common.storage import table_sizes
from tests.integration.test_saga_retention import OLD, saga

pytestmark = pytest.mark.django_db

Analyse = Callable[[type[Model]], None]


def analyse_table(model: type[Model]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")


@pytest.fixture
def analyse() -> Iterator[Analyse]:
    """ANALYZE a model's table. PostgreSQL writes its row estimate (pg_class.reltuples) in place,
    outside the test's transaction: afterwards each table is analysed again without this test's rows
    (deleted in the transaction, so counted as dead), so that no other test sees this one's estimate."""
    analysed: list[type[Model]] = []

    def run(model: type[Model]) -> None:
        analysed.append(model)
        analyse_table(model)

    yield run
    for model in analysed:
        model._default_manager.all().delete()  # with what refers to its rows (a saga's steps and history)
        analyse_table(model)


def no_broker(*args: object, **kwargs: object) -> None:
    raise KafkaException("no broker in this test")


def test_every_table_of_the_service_with_its_bytes_and_estimated_rows(analyse: Analyse) -> None:
    Received.objects.bulk_create([Received(msg_id=f"m-{i}", body={}) for i in range(3)])
    analyse(Received)
    sizes = {size.table: size for size in table_sizes()}
    pruned = {"published", "received", "saga_dead_letter", "saga_instance", "saga_step", "saga_event"}
    assert pruned <= sizes.keys()
    assert not {"auth_user", "django_content_type"} & sizes.keys()  # Django's own are not the service's
    assert sizes["received"].rows == 3
    assert all(size.bytes > 0 for size in sizes.values())  # with its indexes, never empty


def test_the_messaging_health_shows_the_table_sizes(operator_api: APIClient) -> None:
    tables = {row["table"]: row for row in operator_api.get("/api/v1/operations/messaging").json()["tables"]}
    assert tables["saga_dead_letter"].keys() == {"table", "rows", "bytes"}
    assert tables["saga_dead_letter"]["bytes"] > 0


def test_a_worker_exports_the_table_sizes(analyse: Analyse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitoring, "messaging_status", no_broker)
    Received.objects.bulk_create([Received(msg_id=f"m-{i}", body={}) for i in range(2)])
    analyse(Received)
    samples = {
        (sample.name, sample.labels.get("table")): sample.value
        for family in MessagingCollector(handlers={}).collect()
        for sample in family.samples
    }
    assert samples[("sagaref_table_rows", "received")] == 2
    assert samples[("sagaref_table_bytes", "received")] > 0
    assert samples[("sagaref_table_bytes", "saga_instance")] > 0


def sagas_by_state() -> dict[str, float]:
    return {
        sample.labels["state"]: sample.value
        for family in saga_gauges()
        for sample in family.samples
        if sample.name == "sagaref_sagas"
    }


def test_sagas_that_ended_are_estimated_from_the_statistics_the_others_counted(analyse: Analyse) -> None:
    counts = {SagaState.RUNNING: 2, SagaState.FAILED: 2, SagaState.COMPLETED: 3, SagaState.COMPENSATED: 2}
    for state, number in counts.items():
        for i in range(number):
            saga(f"{state}-{i}", state, started=OLD, changed=OLD)
    # not counted at the scrape: none until the table's statistics say so
    assert sagas_by_state() == {
        "RUNNING": 2,
        "COMPENSATING": 0,
        "COMPLETED": 0,
        "COMPENSATED": 0,
        "FAILED": 2,
    }
    analyse(SagaInstance)
    saga("one more", SagaState.RUNNING, started=OLD, changed=OLD)  # running ones are counted live
    assert sagas_by_state() == {
        "RUNNING": 3,
        "COMPENSATING": 0,
        "COMPLETED": 3,
        "COMPENSATED": 2,
        "FAILED": 2,
    }


def scans_of(plan: Any, table: str) -> Iterator[dict[str, Any]]:
    if isinstance(plan, dict):
        if plan.get("Relation Name") == table:
            yield plan
        for value in plan.values():
            yield from scans_of(value, table)
    elif isinstance(plan, list):
        for value in plan:
            yield from scans_of(value, table)


def test_a_scrape_reads_no_saga_table_whole(analyse: Analyse) -> None:
    """Only the sagas still running or waiting for an operator, from their small partial index (or a
    range of another): never every saga, which is what grows."""
    ended = [SagaInstance(id=uuid.uuid4(), state=SagaState.COMPLETED, order_id=f"o-{i}") for i in range(2000)]
    unfinished = [SagaInstance(id=uuid.uuid4(), state=SagaState.RUNNING, order_id=f"r-{i}") for i in range(3)]
    for instance in ended + unfinished:
        instance.saga_type, instance.data, instance.correlation_id = "example", {}, "c"
    SagaInstance.objects.bulk_create(ended + unfinished)
    analyse(SagaInstance)  # what the planner knows of a table that grew
    with CaptureQueriesContext(connection) as queries:
        assert {state: n for state, n in sagas_by_state().items() if n} == {"COMPLETED": 2000, "RUNNING": 3}
    reads = [query["sql"] for query in queries if "FROM saga_instance" in query["sql"]]
    assert reads
    with connection.cursor() as cursor:
        for sql in reads:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            scans = list(scans_of(cursor.fetchone()[0], "saga_instance"))
            assert scans
            for scan in scans:
                assert narrow(scan), scan


def narrow(scan: dict[str, Any]) -> bool:
    """A range of an index, or the partial index (directly, or under a bitmap scan), never the table."""
    if "Index Cond" in scan or "Recheck Cond" in scan:
        return True
    # the saga types' loose scan: each probe is the first entry of the (saga_type, order_id) index
    # (under LIMIT 1), one row per type, however many sagas there are
    if scan.get("Index Name") == "one_saga_per_order" and scan.get("Parent Relationship") == "Outer":
        return True
    return "saga_instance_unfinished" in json.dumps(scan)
