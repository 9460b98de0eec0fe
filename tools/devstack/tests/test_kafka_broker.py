"""The Apache Kafka devstack runs (from the cached jars): it answers, and a broker restarted on the same
log directory (make up's .run/kafka) still has every message and every committed offset."""

import os
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from devstack.broker import free_port, start_broker, stop_broker
from devstack.services import REPO_ROOT


@pytest.mark.skipif(os.environ.get("BROKER") == "tansu", reason="BROKER=tansu: no Java or Kafka installed")
def test_a_restarted_broker_keeps_its_messages_and_offsets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKER", "kafka")
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = start_broker(port, tmp_path / "broker.log", tmp_path / "kafka")
    try:
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
        for number in range(5):
            producer.produce("kept.topic", key=b"k", value=str(number).encode())
        assert producer.flush(30) == 0
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "kept",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe(["kept.topic"])
        first = None
        deadline = time.monotonic() + 60
        while first is None:
            assert time.monotonic() < deadline, "no message consumed within 60 s"
            message = consumer.poll(1)
            if message is not None and not message.error():
                first = message
        consumer.commit(message=first, asynchronous=False)  # one of five handled
        partition, offset = first.partition() or 0, first.offset() or 0
        consumer.close()
    finally:
        stop_broker(broker)
    controller_port = (tmp_path / "kafka" / "controller.port").read_text()
    broker = start_broker(port, tmp_path / "broker.log", tmp_path / "kafka")
    assert (tmp_path / "kafka" / "controller.port").read_text() == controller_port
    try:
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "kept", "auto.offset.reset": "earliest"}
        )
        committed = consumer.committed([TopicPartition("kept.topic", partition)], timeout=30)
        assert committed[0].offset == offset + 1
        low, high = consumer.get_watermark_offsets(TopicPartition("kept.topic", partition), timeout=30)
        assert (low, high) == (0, 5)
        consumer.close()
    finally:
        stop_broker(broker)


@pytest.mark.skipif(os.environ.get("BROKER") == "tansu", reason="BROKER=tansu: no Java or Kafka installed")
def test_a_broker_started_without_a_folder_leaves_none_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER", "kafka")
    port = free_port()
    broker = start_broker(port)
    scratch = REPO_ROOT / ".run" / f"kafka-{port}"
    assert (scratch / "log" / "meta.properties").exists()
    stop_broker(broker)
    assert broker.returncode is not None
    assert not scratch.exists()
