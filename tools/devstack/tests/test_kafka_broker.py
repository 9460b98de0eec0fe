"""The Apache Kafka devstack runs (from the cached jars): it answers, and a broker restarted on the same
log directory (make up's .run/kafka) still has every message and every committed offset."""

from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from devstack.broker import free_port, start_broker, stop_broker


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
        while first is None:
            message = consumer.poll(1)
            if message is not None and not message.error():
                first = message
        consumer.commit(message=first, asynchronous=False)  # one of five handled
        partition, offset = first.partition() or 0, first.offset() or 0
        consumer.close()
    finally:
        stop_broker(broker)
    broker = start_broker(port, tmp_path / "broker.log", tmp_path / "kafka")
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
