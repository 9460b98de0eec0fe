"""What a consumer may claim as handled, with a consumer and messages made by hand: never ahead."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError, KafkaException

from saga_common.messaging.progress import progress_after

MARGIN = timedelta(seconds=1)  # settings.INBOX_PROGRESS_MARGIN_SECONDS in tests
T = "t.replies"


class Broker:
    """Answers where partitions end, as the broker does; the client's cache is never to be used."""

    def __init__(self, ends: dict[int, tuple[int, int]], down: bool = False) -> None:
        self.ends, self.down = ends, down

    def get_watermark_offsets(
        self, tp: Any, timeout: float | None = None, cached: bool = False
    ) -> tuple[int, int]:
        assert not cached, "cached watermarks can be stale after a reassignment"
        if self.down:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        return self.ends[tp.partition]


class Message:
    def __init__(self, partition: int, offset: int, at: datetime) -> None:
        self._partition, self._offset, self._at = partition, offset, at

    def topic(self) -> str:
        return T

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def error(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, int(self._at.timestamp() * 1000)


def claims(broker: Broker, batch: list[Message], positions: dict[tuple[str, int], int], ends: bool) -> Any:
    return progress_after(broker, batch, positions, check_ends=ends)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def margin(settings: Any) -> None:
    settings.INBOX_PROGRESS_MARGIN_SECONDS = MARGIN.total_seconds()


def test_a_partition_with_a_backlog_is_handled_only_up_to_its_last_message_less_the_margin() -> None:
    sent = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    positions = {(T, 0): 4}
    up_to = claims(Broker({0: (0, 10)}), [Message(0, 4, sent)], positions, ends=True)
    assert up_to == {(T, 0): sent - MARGIN}  # offsets 5..9 still wait: not "caught up"
    assert positions == {(T, 0): 5}


def test_a_partition_read_to_its_end_is_handled_up_to_just_before_asking() -> None:
    before = datetime.now(UTC)
    up_to = claims(Broker({0: (0, 10), 1: (3, 3)}), [], {(T, 0): 10, (T, 1): -1001}, ends=True)
    after = datetime.now(UTC)
    for partition in (0, 1):  # 1: never committed, and nothing was ever there
        assert before - MARGIN <= up_to[(T, partition)] <= after - MARGIN


def test_a_partition_that_came_back_with_unread_messages_is_not_caught_up() -> None:
    # the worker owned it before (its cache might say it ended at 100); it ends at 200 now
    assert claims(Broker({0: (0, 200)}), [], {(T, 0): 150}, ends=True) == {}


def test_never_committed_with_messages_waiting_is_not_caught_up() -> None:
    assert claims(Broker({0: (0, 5)}), [], {(T, 0): -1001}, ends=True) == {}


def test_nothing_is_claimed_for_idle_partitions_without_asking_the_broker() -> None:
    assert claims(Broker({0: (0, 10)}), [], {(T, 0): 10}, ends=False) == {}


def test_nothing_is_claimed_when_the_broker_does_not_answer() -> None:
    assert claims(Broker({0: (0, 10)}, down=True), [], {(T, 0): 10}, ends=True) == {}
