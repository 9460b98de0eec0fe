"""Structured logs carry a message's ids; the metrics count sagas, steps and inbox outcomes, and time
sagas; the scrape-time gauges read the outbox and the sagas."""

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from confluent_kafka import KafkaException
from django.utils import timezone
from prometheus_client import REGISTRY
from pytest_django.fixtures import Settings as SettingsWrapper
from pythonjsonlogger.json import JsonFormatter

import shop_contracts as contracts
from saga_common import monitoring
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import handle_once
from saga_common.monitoring import MessagingCollector
from saga_common.observability.logs import ContextFilter
from saga_common.saga_metrics import saga_gauges
from saga_common.sagas.engine import SagaEngine
from saga_common.sagas.models import SagaInstance
from saga_testing.messages import wrap
from tests.example_saga import example_parallel_saga, example_saga
from tests.integration.saga_driver import SagaDriver

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the services' JSON handler writes, captured."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("handler-under-test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def test_every_line_a_handler_logs_carries_the_message_ids(json_lines: io.StringIO) -> None:
    message = wrap(contracts.ApproveOrder(), order_id="o-7", correlation_id="corr-7", saga_id="saga-7")

    def handler(envelope: Envelope) -> None:
        logging.getLogger("handler-under-test").info("approving")

    handle_once(message, handler)
    logging.getLogger("handler-under-test").info("after the message")
    inside, outside = (json.loads(line) for line in json_lines.getvalue().splitlines())
    assert {k: inside[k] for k in ("message", "correlation_id", "saga_id", "order_id", "message_id")} == {
        "message": "approving",
        "correlation_id": "corr-7",
        "saga_id": "saga-7",
        "order_id": "o-7",
        "message_id": message.id,
    }
    assert inside["message_type"] == "ApproveOrder"
    assert "correlation_id" not in outside  # the context ends with the message


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_finished_sagas_and_step_durations_are_counted() -> None:
    saga = example_saga()
    driver = SagaDriver(SagaEngine([saga]), saga)
    completed = sample("sagaref_saga_finished_total", saga="example", state="COMPLETED")
    authorize_steps = sample(
        "sagaref_saga_step_duration_seconds_count", saga="example", step="authorize", outcome="SUCCEEDED"
    )
    driver.start()
    driver.answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    driver.answer(contracts.ShipmentScheduled(shipment_id="s"))
    driver.answer(contracts.PaymentCaptured(payment_id="p", amount=Decimal("9.99")))
    driver.answer(contracts.OrderApproved())
    assert sample("sagaref_saga_finished_total", saga="example", state="COMPLETED") == completed + 1
    assert (
        sample(
            "sagaref_saga_step_duration_seconds_count", saga="example", step="authorize", outcome="SUCCEEDED"
        )
        == authorize_steps + 1
    )


def test_the_outbox_backlog_is_read_at_scrape_time() -> None:
    from django.db import transaction

    from saga_common.messaging.outbox import send

    with transaction.atomic():
        send(contracts.ApproveOrder(), order_id="o-1", correlation_id="c")
    assert sample("sagaref_outbox_backlog_rows") == 1
    assert sample("sagaref_outbox_oldest_age_seconds") >= 0


def test_a_finished_saga_observes_how_long_it_ran_from_its_start() -> None:
    saga = example_saga()
    driver = SagaDriver(SagaEngine([saga]), saga)
    labels = {"saga": "example", "state": "COMPENSATED"}
    before = sample("sagaref_saga_duration_seconds_count", **labels)
    quick = sample("sagaref_saga_duration_seconds_bucket", **labels, le="60.0")
    started = driver.start()
    SagaInstance.objects.filter(id=started.id).update(created_at=timezone.now() - timedelta(seconds=90))
    driver.answer(contracts.PaymentDeclined(reason="no account"))  # nothing to undo: reject at once
    driver.answer(contracts.OrderRejected())
    assert driver.state().state == "COMPENSATED"
    assert sample("sagaref_saga_duration_seconds_count", **labels) == before + 1
    assert sample("sagaref_saga_duration_seconds_bucket", **labels, le="60.0") == quick  # it ran 90 s


def test_the_sagas_by_state_the_oldest_running_and_the_overdue(settings: SettingsWrapper) -> None:
    settings.SAGA_STEP_TIMEOUT_SECONDS, settings.SAGA_STEP_MAX_ATTEMPTS = 10.0, 2  # a step: 10 + 20 s
    saga = example_saga()
    driver = SagaDriver(SagaEngine([saga]), saga)
    driver.start("o-fresh")
    late = driver.start("o-late")  # one step taken (authorize) for 45 s: longer than it may take
    SagaInstance.objects.filter(id=late.id).update(created_at=timezone.now() - timedelta(seconds=45))
    failed = driver.start("o-failed")
    SagaInstance.objects.filter(id=failed.id).update(state="FAILED")
    gauges = {
        (s.name, s.labels.get("state", "")): s.value for family in saga_gauges() for s in family.samples
    }
    assert {state: value for (name, state), value in gauges.items() if name == "sagaref_sagas"} == {
        "RUNNING": 2,
        "COMPENSATING": 0,
        "COMPLETED": 0,
        "COMPENSATED": 0,
        "FAILED": 1,
    }
    # now() is the test transaction's start, a moment before the ages were set
    assert 44 <= gauges[("sagaref_saga_oldest_running_age_seconds", "")] < 60
    assert gauges[("sagaref_sagas_overdue", "")] == 1


ENGINE = SagaEngine([example_saga(), example_parallel_saga(version=2)])


def test_the_unfinished_sagas_by_definition_version(settings: SettingsWrapper) -> None:
    saga = example_saga()
    driver = SagaDriver(SagaEngine([saga]), saga)
    for order in ("o-1", "o-2", "o-3", "o-4"):
        driver.start(order)
    SagaInstance.objects.filter(order_id__in=["o-1", "o-2"]).update(version=2)
    SagaInstance.objects.filter(order_id="o-3").update(state="COMPLETED")  # ended: not counted
    SagaInstance.objects.filter(order_id="o-2").update(state="FAILED")  # waits for an operator: counted
    by_version = {
        (s.labels["saga"], s.labels["version"]): s.value
        for family in saga_gauges()
        if family.name == "sagaref_sagas_unfinished_by_version"
        for s in family.samples
    }
    assert by_version == {("example", "1"): 1, ("example", "2"): 2}
    # with the engine named, every registered version has its series, at 0 once none runs it
    settings.SAGA_ENGINE = "tests.integration.test_observability.ENGINE"
    SagaInstance.objects.filter(order_id__in=["o-1", "o-2"]).update(state="COMPLETED")
    by_version = {
        (s.labels["saga"], s.labels["version"]): s.value
        for family in saga_gauges()
        if family.name == "sagaref_sagas_unfinished_by_version"
        for s in family.samples
    }
    assert by_version == {("example", "1"): 1, ("example", "2"): 0}


def test_a_worker_reports_sagas_with_its_messaging_a_web_only_its_outbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broker_away(*args: object, **kwargs: object) -> None:
        raise KafkaException("no broker in this test")

    monkeypatch.setattr(monitoring, "messaging_status", broker_away)
    outbox = {
        "sagaref_outbox_backlog_rows",
        "sagaref_outbox_oldest_age_seconds",
        "sagaref_outbox_refused_rows",
    }
    assert {family.name for family in MessagingCollector().collect()} == outbox
    sagas = {
        "sagaref_sagas",
        "sagaref_saga_oldest_running_age_seconds",
        "sagaref_sagas_overdue",
        "sagaref_sagas_unfinished_by_version",
    }
    tables = {"sagaref_table_rows", "sagaref_table_bytes"}
    assert {family.name for family in MessagingCollector(handlers={}).collect()} == outbox | sagas | tables


@pytest.mark.django_db(transaction=True)
def test_a_scrape_closes_the_connection_of_its_thread() -> None:
    """prometheus_client serves each scrape in a new thread: a connection left open there would linger
    until garbage collection, and a Prometheus scraping every second would exhaust PostgreSQL's."""
    from django.db import connection

    left_open: list[bool] = []

    def scrape() -> None:
        names = {family.name for family in MessagingCollector().collect()}
        assert "sagaref_outbox_backlog_rows" in names  # it did use the database
        left_open.append(connection.connection is not None)

    thread = threading.Thread(target=scrape)
    thread.start()
    thread.join()
    assert left_open == [False]
