"""pytest plugin (loaded by every suite through saga-testing's ``pytest11`` entry point).

- ``kafka_bootstrap``: one real broker per test run. ``make test`` starts one and exports
  ``KAFKA_BOOTSTRAP_SERVERS``; a bare ``pytest`` starts one itself (Apache Kafka, or Tansu with
  ``BROKER=tansu``) when nothing answers.
- ``kafka_topics``: gives each test its own topic names (a unique prefix) and creates them; the test's
  clients act as the broker's administrator.
"""

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    from devstack.broker import broker_answers, exit_on_sigterm, free_port, start_broker, stop_broker
    from devstack.services import REPO_ROOT

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if bootstrap and broker_answers(bootstrap):
        yield bootstrap
        return
    exit_on_sigterm(interrupt=True)  # a killed pytest still stops its broker (a JVM in its own session)
    port = free_port()
    (REPO_ROOT / ".run").mkdir(exist_ok=True)
    broker = start_broker(port, REPO_ROOT / ".run" / f"pytest-broker-{port}.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_broker(broker)


@pytest.fixture
def kafka_topics(kafka_bootstrap: str, settings: Any) -> str:
    """Point this test at fresh topics on the shared broker; return the topic prefix."""
    from devstack.broker_auth import admin_environment
    from saga_common.messaging.kafka import all_topic_names, ensure_topics

    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_bootstrap
    # As the broker's administrator (a bare pytest's settings know no user); the services' own users
    # and what their ACLs allow are tested by saga_common's test_broker_access.
    for name, value in admin_environment().items():
        setattr(settings, name, value)
    settings.KAFKA_TOPIC_PREFIX = f"t{uuid.uuid4().hex[:10]}."
    # and its own consumer group, as a service's settings name it (a group read at start-up would be
    # shared by every test of the run)
    settings.KAFKA_CONSUMER_GROUP = f"{settings.KAFKA_TOPIC_PREFIX}{settings.SERVICE_NAME}"
    ensure_topics(all_topic_names(), partitions=1)
    return str(settings.KAFKA_TOPIC_PREFIX)


@pytest.fixture
def client_for() -> Any:
    """``client_for("c-1")`` (a customer), ``client_for("ops", operator=True)``, ``client_for(None)``
    (no token): DRF test clients carrying a bearer token signed with the settings' key."""
    from django.conf import settings
    from rest_framework.test import APIClient

    from saga_common.web.auth import CUSTOMER, OPERATOR, mint_token

    def make(subject: str | None, *, operator: bool = False) -> APIClient:
        client = APIClient()
        if subject is not None:
            token = mint_token(
                settings.SIMPLE_JWT["SIGNING_KEY"], subject, [OPERATOR if operator else CUSTOMER]
            )
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def api(client_for: Any) -> Any:
    """A client authenticated as customer ``c-1``."""
    return client_for("c-1")


@pytest.fixture
def operator_api(client_for: Any) -> Any:
    """A client authenticated as an operator."""
    return client_for("ops", operator=True)
