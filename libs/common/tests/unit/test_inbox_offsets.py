"""Offset bookkeeping must never stop the consumer: a failed commit only means a redelivery."""

from typing import Any

from confluent_kafka import KafkaError, KafkaException

from saga_common.messaging.consumer import _commit, _store_offset


class RefusingConsumer:
    """Stands in for a consumer whose partitions were just revoked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def store_offsets(self, message: Any) -> None:
        self.calls.append("store")
        raise KafkaException(KafkaError(KafkaError._STATE))

    def commit(self, asynchronous: bool) -> None:
        self.calls.append("commit")
        raise KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS))


def test_a_refused_commit_is_survived() -> None:
    consumer = RefusingConsumer()
    _commit(consumer)  # type: ignore[arg-type]
    assert consumer.calls == ["commit"]


def test_an_offset_that_cannot_be_stored_is_reported_as_not_handled() -> None:
    consumer = RefusingConsumer()
    assert _store_offset(consumer, object()) is False  # type: ignore[arg-type]
