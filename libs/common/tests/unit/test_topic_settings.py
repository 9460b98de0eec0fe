"""Topics are created with the replication the deployment asks for (settings), not a hard-coded 1."""

from typing import Any

import pytest
from confluent_kafka.admin import NewTopic
from pytest_django.fixtures import Settings as SettingsWrapper

from saga_common.messaging import kafka


class RecordingAdmin:
    """Stands in for the broker's admin API: knows no topics, records what it is asked to create."""

    def __init__(self) -> None:
        self.created: list[NewTopic] = []

    def list_topics(self, timeout: float) -> Any:
        return type("Metadata", (), {"topics": {}})()

    def create_topics(self, topics: list[NewTopic]) -> dict[str, Any]:
        self.created.extend(topics)
        done = type("Done", (), {"result": lambda self: None})()
        return {topic.topic: done for topic in topics}


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> RecordingAdmin:
    recording = RecordingAdmin()
    monkeypatch.setattr(kafka, "admin_client", lambda: recording)
    return recording


def test_topics_get_the_configured_replication(admin: RecordingAdmin, settings: SettingsWrapper) -> None:
    settings.KAFKA_TOPIC_REPLICATION_FACTOR = 3
    settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS = 2
    settings.KAFKA_TOPIC_RETENTION_HOURS = 1
    kafka.ensure_topics(["t.one"], partitions=6)
    (topic,) = admin.created
    assert (topic.topic, topic.num_partitions, topic.replication_factor) == ("t.one", 6, 3)
    assert topic.config == {"retention.ms": "3600000", "min.insync.replicas": "2"}


def test_the_defaults_suit_a_single_broker(admin: RecordingAdmin, settings: SettingsWrapper) -> None:
    assert (settings.KAFKA_TOPIC_REPLICATION_FACTOR, settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS) == (1, 1)
    kafka.ensure_topics(["t.two"])
    (topic,) = admin.created
    assert topic.replication_factor == 1
    # No min.insync.replicas: the broker's default (1) applies.
    assert topic.config == {"retention.ms": str(7 * 24 * 3600 * 1000)}
