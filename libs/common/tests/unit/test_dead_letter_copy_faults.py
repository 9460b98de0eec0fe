"""The .dlq copy when the producer itself fails (found by review, 2026-12-06): a fatal producer error
is not taken as "refused for good" for every later copy, and an unanswered copy is not sent twice."""

from typing import Any

import pytest
from confluent_kafka import KafkaError

from saga_common.messaging import dead_letters
from saga_common.messaging.dead_letters import DeadLetterTopic, DeadLetterUnavailable


class FakeMessage:
    def topic(self) -> str:
        return "payments.commands"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 7

    def key(self) -> bytes:
        return b"order-1"

    def value(self) -> bytes:
        return b"{}"

    def headers(self) -> list[Any]:
        return []


class FakeProducer:
    """Answers every delivery with ``answer`` (or not at all, when None); records purges."""

    def __init__(self, answer: KafkaError | None) -> None:
        self.answer = answer
        self.pending: list[Any] = []
        self.purged = 0

    def produce(self, topic: str, *, on_delivery: Any, **_: Any) -> None:
        self.pending.append(on_delivery)

    def flush(self, timeout: float) -> int:
        if self.answer is not None:
            for callback in self.pending:
                callback(self.answer, None)
            self.pending = []
        return len(self.pending)

    def purge(self, **_: Any) -> None:
        self.purged += len(self.pending)
        self.pending = []


def _copy_with(monkeypatch: pytest.MonkeyPatch, producers: list[FakeProducer]) -> DeadLetterTopic:
    made = iter(producers)
    monkeypatch.setattr(dead_letters, "Producer", lambda _config: next(made))
    return DeadLetterTopic("payments")


def test_a_fatal_producer_is_replaced_and_the_copy_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    fatal = KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, fatal=True)
    topic = _copy_with(monkeypatch, [FakeProducer(fatal), FakeProducer(None)])
    with pytest.raises(DeadLetterUnavailable):
        topic.send(FakeMessage(), ValueError("bad"), 1)  # type: ignore[arg-type]
    assert topic._producer is None  # the next try starts with a new producer


def test_an_unanswered_copy_is_purged_before_it_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    silent = FakeProducer(None)
    monkeypatch.setattr(dead_letters, "_DELIVERY_WAIT_S", 0.01)
    topic = _copy_with(monkeypatch, [silent])
    with pytest.raises(DeadLetterUnavailable):
        topic.send(FakeMessage(), ValueError("bad"), 1)  # type: ignore[arg-type]
    assert silent.purged == 1  # not left queued to go out beside the retry's copy
    assert topic._producer is None
