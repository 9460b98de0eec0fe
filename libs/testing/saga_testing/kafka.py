"""Put messages on a topic by hand, read what landed there (without joining a consumer group, so no
rebalance wait), and run an inbox consumer until something is true."""

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import Message as KafkaMessage
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from devstack import broker_auth
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.kafka import common_config, consumer_config, producer_config


def read_topic(topic: str, *, expected: int, timeout: float = 15.0) -> list[KafkaMessage]:
    """Return the messages of every partition of ``topic`` once ``expected`` arrived (or the timeout hit)."""
    consumer = Consumer(
        {
            **common_config(),
            "group.id": f"reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 20,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        messages: list[KafkaMessage] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            messages += [m for m in consumer.consume(100, timeout=0.2) if m.error() is None]
        # A short extra read catches anything beyond what was expected (a duplicate, say).
        messages += [m for m in consumer.consume(100, timeout=0.5) if m.error() is None]
        return messages
    finally:
        consumer.close()


def read_envelopes(topic: str, *, expected: int, timeout: float = 15.0) -> list[Envelope]:
    return [
        Envelope.from_kafka(m.key(), m.value(), m.headers())
        for m in read_topic(topic, expected=expected, timeout=timeout)
    ]


def headers_of(message: KafkaMessage) -> dict[str, bytes]:
    """A Kafka record's headers as a dict of raw values."""
    pairs: list[tuple[str, str | bytes | None]] = list(message.headers() or [])  # type: ignore[arg-type]
    return {name: value for name, value in pairs if isinstance(value, bytes)}


KafkaHeaders = list[tuple[str, str | bytes | None]]


class Record(NamedTuple):
    """A Kafka record as a test puts it on a topic by hand."""

    key: bytes | None
    value: bytes
    headers: KafkaHeaders


def produce(topic: str, records: list[Record]) -> None:
    producer = Producer(producer_config())
    for key, value, headers in records:
        producer.produce(topic, key=key, value=value, headers=headers)
        # One record per batch: Tansu 0.6 reports a partition's high watermark as its last batch's
        # base offset + 1, which only equals the true end when batches hold one record.
        assert producer.flush(10) == 0


def kafka_record(envelope: Envelope) -> Record:
    """``envelope`` as the relay would put it on Kafka (CloudEvents binary mode)."""
    headers: KafkaHeaders = [(name, value.encode()) for name, value in envelope.kafka_headers().items()]
    return Record(envelope.order_id.encode(), envelope.data, headers)


def committed_offset(topic: str, group: str) -> int:
    """The group's committed offset on partition 0; -1 while its coordinator cannot say (Apache Kafka
    answers NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS while a new group's coordinator settles)."""
    consumer = Consumer(consumer_config(group))
    try:
        (partition,) = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return int(partition.offset)
    except KafkaException as exc:
        error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if error is not None and (error.retriable() or error.code() in _COORDINATOR_MOVING):
            return -1
        raise
    finally:
        consumer.close()


_COORDINATOR_MOVING = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS}


def run_until(consumer: Any, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    thread = threading.Thread(target=consumer.run)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "consumer did not get there in time"
            time.sleep(0.1)
    finally:
        consumer.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()


def accept_any_timestamp(bootstrap: str, topic: str) -> None:
    """Let ``topic`` take records stamped any time ahead.

    Apache Kafka refuses a record stamped more than an hour ahead of the broker's clock
    (INVALID_TIMESTAMP, the topic's ``message.timestamp.after.max.ms``); Tansu, a topic configured
    otherwise, or a record mirrored from another cluster lets one through, and a consumer must survive
    it. The hostile-record tests and the chaos fault put such records on a topic, so they ask for it.
    """
    if os.environ.get("BROKER") == "tansu":
        return  # no such setting, and every timestamp is taken anyway
    entry = ConfigEntry(
        "message.timestamp.after.max.ms", str(2**63 - 1), incremental_operation=AlterConfigOpType.SET
    )
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    # As the broker's admin: the chaos runs call this from outside Django. Kept until the answer: a
    # dropped client cancels it.
    admin = AdminClient(broker_auth.client_config(bootstrap))
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(10)
