"""No record, whatever its key, headers, timestamp, size or encoding, may stop a worker: a table of hostile
records put on a topic by hand, then the real consumer on the real broker and PostgreSQL.

Each record is either handled (it is a good message, however odd its timestamp) or kept as a dead
letter; the consumer reads past all of them and still handles the good message behind them.
"""

import json
import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest
from confluent_kafka import Producer

from saga_common.messaging.consumer import InboxConsumer
from saga_common.messaging.kafka import dlq_name, producer_config, topic_name
from saga_common.models import ConsumerProgress, DeadLetter
from saga_testing.kafka import accept_any_timestamp, committed_offset, kafka_record, read_topic, run_until
from saga_testing.messages import wrap
from shop_contracts import ORDERS_COMMANDS, ApproveOrder, RejectOrder
from tests.effects.handlers import HANDLERS
from tests.effects.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)

NEAR_LIMIT = 999_900  # bytes: the record fits the producer's message.max.bytes, its .dlq copy would not


class Hostile(NamedTuple):
    name: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    timestamp: int = 0  # ms; 0: the producer's clock
    handled: bool = False  # a good message (handled); otherwise it must end as a dead letter


def good(order_id: str, **changes: Any) -> tuple[bytes, bytes, list[tuple[str, bytes | None]]]:
    key, value, headers = kafka_record(wrap(ApproveOrder(), order_id=order_id, correlation_id="c"))
    assert key is not None
    return key, value, [(n, v) for n, v in headers]  # type: ignore[misc]


def with_header(headers: list[tuple[str, bytes | None]], name: str, value: bytes | None) -> list[Any]:
    return [(n, v) for n, v in headers if n != name] + [(name, value)]


def message_id(headers: list[tuple[str, bytes | None]]) -> str:
    return [v for n, v in headers if n == "ce_id"][-1].decode()  # type: ignore[union-attr]


def hostile_records() -> list[Hostile]:
    records = []
    for name, millis in [
        ("timestamp 10**17 ms (year 3170843)", 10**17),
        ("timestamp past year 9999", 253402300800005),
        ("timestamp in year 9000", int(datetime(9000, 1, 1, tzinfo=UTC).timestamp() * 1000)),
        ("timestamp at the epoch", 1),
    ]:
        records.append(Hostile(name, *good(f"o-{uuid.uuid4()}"), timestamp=millis, handled=True))
    key, value, headers = good("o-h")
    records += [
        Hostile("no key", None, value, headers),
        Hostile("a key that is not UTF-8", b"\xff\xfe\x00", value, headers),
        Hostile("a key of 100 kB", b"k" * 100_000, value, headers),
        Hostile("no value (a tombstone)", key, None, headers),
        Hostile("a value that is not UTF-8", key, b"\xff\x00\xfe", headers),
        Hostile("JSON nested 100,000 deep", key, b"[" * 100_000 + b"]" * 100_000, headers),
        Hostile("a value near the size limit", key, b"x" * NEAR_LIMIT, []),
        Hostile("no headers", key, value, []),
        Hostile("ce_id with a NUL", key, value, with_header(headers, "ce_id", b"\x00")),
        Hostile("ce_type not UTF-8", key, value, with_header(headers, "ce_type", b"\xc3\x28")),
        # the last of two ce_id headers is the id, as for any header given twice
        Hostile(
            "ce_id given twice", key, value, [*headers, ("ce_id", str(uuid.uuid4()).encode())], handled=True
        ),
        Hostile("a header without a value", key, value, with_header(headers, "ce_type", None)),
        Hostile(
            "1,000 headers", key, value, headers + [(f"h{i}", b"v" * 50) for i in range(1000)], handled=True
        ),
        # the same message id again: a duplicate, dropped by the inbox
        Hostile("a header name with a NUL", key, value, [*headers, ("a\x00b", b"v")], handled=True),
    ]
    # A well-formed message whose data holds a NUL (JSON's \u0000), which PostgreSQL's text cannot store.
    nul_key, nul_value, nul_headers = kafka_record(
        wrap(RejectOrder(reason="aXb"), order_id="o-nul", correlation_id="c")
    )
    nul_value = nul_value.replace(b'"aXb"', b'"a\\u0000b"')
    assert b"\\u0000" in nul_value
    records.append(Hostile("a NUL inside the data", nul_key, nul_value, list(nul_headers)))  # type: ignore[arg-type]
    records.append(Hostile("data that is JSON but not an object", key, json.dumps([1]).encode(), headers))
    return records


def test_no_hostile_record_stops_the_consumer_and_each_is_handled_or_kept(
    kafka_topics: str, settings: Any
) -> None:
    topic = topic_name(ORDERS_COMMANDS)
    accept_any_timestamp(settings.KAFKA_BOOTSTRAP_SERVERS, topic)  # Kafka refuses those an hour ahead
    records = hostile_records()
    last_key, last_value, last_headers = good("o-after")
    producer = Producer(producer_config())
    refusals: list[object] = []
    for record in [*records, Hostile("the good one behind them", last_key, last_value, last_headers)]:
        producer.produce(
            topic,
            key=record.key,
            value=record.value,
            headers=list(record.headers),
            timestamp=record.timestamp,
            on_delivery=lambda error, _message: refusals.append(error) if error else None,
        )
        assert producer.flush(10) == 0, record.name
        assert not refusals, (record.name, refusals)  # the broker took it: the consumer will see it
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}hostile", max_attempts=2)
    # when the consumer has read past them all (it would crash, or loop on one, otherwise)
    run_until(consumer, lambda: committed_offset(topic, consumer.group_id) == len(records) + 1, timeout=90)
    # then every good message took effect, the one behind them too
    handled_ids = {message_id(r.headers) for r in records if r.handled}
    assert Effect.objects.filter(order_id="o-after").count() == 1
    assert set(Effect.objects.values_list("message_id", flat=True)) == handled_ids | {
        message_id(last_headers)
    }
    # and every other record is a dead letter an operator can see, at its own offset
    kept = set(DeadLetter.objects.values_list("offset", flat=True))
    assert kept == {i for i, r in enumerate(records) if not r.handled}, [
        r.name for i, r in enumerate(records) if not r.handled and i not in kept
    ]
    # the oversized one's copy went to the .dlq trimmed, with a reference instead of its payload
    copies = read_topic(dlq_name(topic), expected=len(kept), timeout=30)
    assert len(copies) == len(kept)
    trimmed = [c for c in copies if dict(c.headers() or []).get("dlq-trimmed")]
    assert len(trimmed) == 1
    assert b"not copied" in (trimmed[0].value() or b"")
    # and no timestamp carried the partition's progress into the future
    for progress in ConsumerProgress.objects.filter(group=consumer.group_id):
        assert progress.handled_up_to <= datetime.now(UTC)
