"""What a consumer may claim as handled, with a consumer and messages made by hand: never ahead."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError, KafkaException, TopicPartition

from saga_common.messaging.offsets import LATEST
from saga_common.messaging.progress import progress_after

MARGIN = timedelta(seconds=1)  # settings.INBOX_PROGRESS_MARGIN_SECONDS in tests
T = "t.replies"


class Broker:
    """Answers where partitions end, as the broker does, for many partitions in one request (the
    client's cached watermarks are never to be used: this fake has none). As librdkafka does, one
    partition it cannot answer for fails the whole lookup."""

    def __init__(self, ends: dict[int, tuple[int, int]], down: bool = False) -> None:
        self.ends, self.down = ends, down
        self.requests = 0
        self.metadata_refreshed = False

    def offsets_for_times(self, asked: list[Any], timeout: float | None = None) -> list[TopicPartition]:
        self.requests += 1
        if self.down:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        if any(tp.partition not in self.ends for tp in asked):
            raise KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
        answered = []
        for tp in asked:
            low, high = self.ends[tp.partition]
            answered.append(TopicPartition(tp.topic, tp.partition, high if tp.offset == LATEST else low))
        return answered

    def list_topics(self, topic: str | None = None, timeout: float | None = None) -> None:
        self.metadata_refreshed = True


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


def test_nothing_is_claimed_when_the_broker_does_not_answer_and_it_is_not_asked_again() -> None:
    broker = Broker({0: (0, 10), 1: (0, 10)}, down=True)
    assert claims(broker, [], {(T, 0): 10, (T, 1): 10}, ends=True) == {}
    assert broker.requests == 1
    assert not broker.metadata_refreshed


def test_a_partition_the_broker_did_not_answer_for_is_not_claimed_and_the_others_are() -> None:
    broker = Broker({0: (0, 10)})
    up_to = claims(broker, [], {(T, 0): 10, (T, 1): 10}, ends=True)
    assert set(up_to) == {(T, 0)}  # asked again one by one: only the partition at fault is left out
    assert broker.metadata_refreshed  # a leader that moved is found before asking again


def test_every_partition_is_asked_in_one_request_and_beginnings_only_when_needed() -> None:
    partitions = {p: (0, 10) for p in range(12)}
    broker = Broker(partitions)
    claims(broker, [], {(T, p): 10 for p in partitions}, ends=True)
    assert broker.requests == 1  # the ends only: every partition has a committed offset
    broker = Broker(partitions)
    claims(broker, [], {**{(T, p): 10 for p in partitions}, (T, 0): -1001}, ends=True)
    assert broker.requests == 2  # one never committed: the beginnings too, all at once


class Stamped(Message):
    """A message whose timestamp is whatever its producer put there, in milliseconds."""

    def __init__(self, partition: int, offset: int, millis: int) -> None:
        super().__init__(partition, offset, datetime.now(UTC))
        self._millis = millis

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, self._millis


def now_ms(shift: timedelta = timedelta(0)) -> int:
    return int((datetime.now(UTC) + shift).timestamp() * 1000)


@pytest.mark.parametrize(
    "millis",
    [
        10**17,  # year 3170843: no datetime holds it
        253402300800005,  # just past 9999-12-31
        2**63 - 1,
        int(datetime(9000, 1, 1, tzinfo=UTC).timestamp() * 1000),  # representable, far ahead
        -1,
        -(2**63),  # before the epoch
    ],
)
def test_a_timestamp_out_of_range_or_far_ahead_counts_as_no_progress_and_never_raises(
    millis: int, settings: Any
) -> None:
    settings.INBOX_PROGRESS_CLOCK_TOLERANCE_SECONDS = 10
    positions = {(T, 0): 4}
    assert claims(Broker({0: (0, 10)}), [Stamped(0, 4, millis)], positions, ends=True) == {}
    assert positions == {(T, 0): 5}  # the message was still handled: the consumer moves past it


def test_a_timestamp_a_little_ahead_counts_as_the_consumers_now_and_further_ahead_as_nothing(
    settings: Any,
) -> None:
    settings.INBOX_PROGRESS_CLOCK_TOLERANCE_SECONDS = 10
    before = datetime.now(UTC)
    (ahead,) = claims(Broker({}), [Stamped(0, 4, now_ms(timedelta(seconds=3)))], {}, ends=False).values()
    assert before - MARGIN <= ahead <= datetime.now(UTC) - MARGIN  # clamped: never ahead of our clock
    assert claims(Broker({}), [Stamped(0, 4, now_ms(timedelta(seconds=11)))], {}, ends=False) == {}


def test_a_bad_timestamp_after_a_good_one_leaves_the_good_ones_progress() -> None:
    sent = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    batch = [Message(0, 4, sent), Stamped(0, 5, 10**17)]
    assert claims(Broker({}), batch, {}, ends=False) == {(T, 0): sent - MARGIN}
