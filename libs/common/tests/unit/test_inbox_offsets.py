"""Offset bookkeeping must never stop the consumer: an offset not stored only means a redelivery.
(Commits are librdkafka's, every KAFKA_AUTO_COMMIT_INTERVAL_MS: a failed one is retried at the next.)"""

from typing import Any

from confluent_kafka import KafkaError, KafkaException

from saga_common.messaging.polling import Assignments, Rejoins, store_offset


class RefusingConsumer:
    """Stands in for a consumer whose partitions were just revoked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def store_offsets(self, message: Any) -> None:
        self.calls.append("store")
        raise KafkaException(KafkaError(KafkaError._STATE))


def test_an_offset_that_cannot_be_stored_is_reported_as_not_handled() -> None:
    consumer = RefusingConsumer()
    assert store_offset(consumer, object()) is False  # type: ignore[arg-type]


class CallbackProbe:
    """A consumer that fails the test if called: what a rebalance callback may do is only note."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a rebalance callback called consumer.{name}")


def test_a_rebalance_callback_only_notes_and_the_loop_reads_the_positions() -> None:
    from confluent_kafka import TopicPartition

    positions: dict[tuple[str, int], int] = {("t", 0): 5}
    assignments = Assignments(CallbackProbe(), ["t"], {}, positions)  # type: ignore[arg-type]
    assignments.on_assign(CallbackProbe(), [TopicPartition("t", 1)])  # type: ignore[arg-type]
    assignments.on_revoke(CallbackProbe(), [TopicPartition("t", 0)])  # type: ignore[arg-type]
    assert positions == {}

    class Answering:
        def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
            return type("Metadata", (), {"topics": {}})()

        def committed(self, partitions: list[Any], timeout: float = -1) -> list[Any]:
            return [TopicPartition(tp.topic, tp.partition, 7) for tp in partitions]

    assignments.consumer = Answering()  # type: ignore[assignment]
    assignments.read_positions()  # in the loop, after the poll: the committed offset is read
    assert positions == {("t", 1): 7}
    assignments.read_positions()  # nothing newly assigned: nothing asked
    assert positions == {("t", 1): 7}


def test_a_fenced_consumer_is_replaced_as_often_as_allowed_within_the_window() -> None:
    rejoins = Rejoins(2, window_s=60)
    assert [rejoins.allow() for _ in range(3)] == [True, True, False]
    assert not Rejoins(0).allow()
