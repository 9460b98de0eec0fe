"""Read whole topics and write raw messages, for the chaos suite's faults and its checker."""

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from devstack import broker_auth

Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True)
class RawMessage:
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    timestamp: int = 0  # ms; 0: the producer's clock

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key == name]
        value = found[0] if found else None
        if isinstance(value, bytes):  # a hostile record's header need not be text
            return value.decode("utf-8", "replace")
        return value

    @property
    def message_id(self) -> str | None:
        """The CloudEvents id (``ce_id``); None for poison (none, or not a canonical uuid)."""
        found = self.header("ce_id")
        try:
            return found if found is not None and str(uuid.UUID(found)) == found else None
        except ValueError:
            return None

    @property
    def message_type(self) -> str | None:
        """The message's short name (``PaymentDeclined`` of ``sagaref.payments.PaymentDeclined.v1``)."""
        cloudevent_type = self.header("ce_type")
        return cloudevent_type.split(".")[-2] if cloudevent_type and cloudevent_type.count(".") >= 2 else None

    def with_new_id(self) -> "RawMessage":
        """The same message under a new id, as a replayed or re-sent copy would arrive."""
        new_id = str(uuid.uuid4()).encode()
        headers: Headers = [(k, new_id if k == "ce_id" else v) for k, v in self.headers]
        return RawMessage(self.topic, self.key, self.value, headers, self.timestamp)


def read_all(bootstrap: str, topic: str, *, idle: float = 2.0, limit: float = 120.0) -> list[RawMessage]:
    """Every message of every partition, read until nothing new arrived for ``idle`` seconds after the
    first one (an empty topic is waited on for ``limit``).

    (Watermarks are not used: Tansu reports a high watermark below the true end when the last batch
    holds several records.)
    """
    consumer = Consumer(
        {
            **broker_auth.client_config(bootstrap),
            "group.id": f"chaos-reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 50,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
        messages: list[RawMessage] = []
        last_arrival, started = time.monotonic(), time.monotonic()
        while time.monotonic() - started < limit:
            batch = [m for m in consumer.consume(500, timeout=0.2) if m.error() is None]
            if batch:
                last_arrival = time.monotonic()
            elif messages and time.monotonic() - last_arrival > idle:
                break
            messages += [RawMessage(topic, m.key(), m.value() or b"", _headers(m)) for m in batch]
        return messages
    finally:
        consumer.close()


def _headers(message: Message) -> Headers:
    headers = message.headers() or []
    return list(headers.items()) if isinstance(headers, dict) else list(headers)


def produce(bootstrap: str, messages: list[RawMessage]) -> int:
    """Produce ``messages`` as they are; return how many the broker acknowledged."""
    producer = Producer({**broker_auth.client_config(bootstrap), "enable.idempotence": True, "acks": "all"})
    acked = 0

    def count(error: object, _message: object) -> None:
        nonlocal acked
        acked += error is None

    for message in messages:
        producer.produce(
            message.topic,
            key=message.key,
            value=message.value,
            headers=message.headers,
            timestamp=message.timestamp,
            on_delivery=count,
        )
    producer.flush(30)
    return acked
