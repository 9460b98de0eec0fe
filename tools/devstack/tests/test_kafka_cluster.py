"""Three Apache Kafka nodes (devstack.cluster, as ``make up BROKERS=3`` runs them): replication factor 3
with two replicas in sync for a write, so one node down loses and refuses nothing, and two down stop
every write until one returns, which then lands once."""

import os
import signal
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from devstack import broker_auth
from devstack.broker import free_port
from devstack.cluster import Cluster

pytestmark = pytest.mark.skipif(
    os.environ.get("BROKER") == "tansu", reason="BROKER=tansu: no Java or Kafka installed"
)


def _produce(bootstrap: str, topic: str, value: bytes, timeout_ms: int = 20000) -> KafkaError | None:
    """Produce one record with acks=all; the delivery error, or None once it is acknowledged."""
    outcome: list[KafkaError | None] = []
    producer = Producer(
        {
            **broker_auth.client_config(bootstrap),
            "acks": "all",
            "enable.idempotence": True,
            "delivery.timeout.ms": timeout_ms,
        }
    )
    producer.produce(topic, value=value, partition=0, on_delivery=lambda error, _m: outcome.append(error))
    # Well past the delivery timeout: with two of three nodes down, the report of a refused write once took
    # more than 5 s beyond it (a fresh idempotent producer authenticating to nodes that are gone first).
    producer.flush(timeout_ms / 1000 + 30)
    assert outcome, "no delivery report"
    return outcome[0]


def _values_until(bootstrap: str, topic: str, last: bytes) -> list[bytes]:
    consumer = Consumer(
        {**broker_auth.client_config(bootstrap), "group.id": "reader", "auto.offset.reset": "earliest"}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    found: list[bytes] = []
    deadline = time.monotonic() + 60
    while last not in found and time.monotonic() < deadline:
        message = consumer.poll(1)
        if message is not None and not message.error():
            found.append(message.value() or b"")
    consumer.close()
    return found


def _partition_or_none(cluster: Cluster) -> tuple[int, list[int]] | None:
    try:
        leader, in_sync = cluster.partition("replicated", 0)
    except KeyError:  # not in the metadata yet
        return None
    return (leader, in_sync) if leader >= 0 else None


def test_three_nodes_survive_one_down_and_hold_writes_while_two_are(tmp_path: Path) -> None:
    cluster = Cluster.on_ports([free_port() for _ in range(3)], tmp_path / "kafka", tmp_path)
    try:
        cluster.start()
        bootstrap = cluster.bootstrap
        admin = AdminClient(broker_auth.client_config(bootstrap))
        admin.create_topics([NewTopic("replicated", num_partitions=1)])["replicated"].result(30)
        deadline = time.monotonic() + 30
        while (found := _partition_or_none(cluster)) is None:
            assert time.monotonic() < deadline, "the new topic has no leader within 30 s"
            time.sleep(0.2)
        leader, in_sync = found
        assert sorted(in_sync) == [1, 2, 3]  # the cluster's default: three replicas
        assert cluster.active_controller() in (1, 2, 3)
        assert _produce(bootstrap, "replicated", b"one") is None

        # one node down (the partition's leader): another leads, writes go on
        cluster.kill(leader)
        deadline = time.monotonic() + 60
        while cluster.partition("replicated", 0)[0] in (leader, -1):
            assert time.monotonic() < deadline, "no new leader within 60 s"
            time.sleep(0.5)
        assert _produce(bootstrap, "replicated", b"two") is None

        # a second down: fewer than min.insync.replicas (2), the write is refused, not half-done
        second = cluster.partition("replicated", 0)[0]
        cluster.kill(second, signal.SIGKILL)
        assert _produce(bootstrap, "replicated", b"three", timeout_ms=5000) is not None

        # both back: the cluster takes writes again and has every acknowledged record, once
        cluster.start_node(leader)
        cluster.start_node(second)
        assert _produce(bootstrap, "replicated", b"four", timeout_ms=60000) is None
        values = _values_until(bootstrap, "replicated", b"four")
        # (the refused "three" may be there too: the leader had it in its log when the others returned)
        assert values[:2] == [b"one", b"two"]
        assert values.count(b"four") == 1
    finally:
        processes = list(cluster.processes.values())
        cluster.stop()
    assert all(process.returncode is not None for process in processes)
