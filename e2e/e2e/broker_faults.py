"""The faults of the ``brokers`` chaos profile, on a three-node Apache Kafka cluster (devstack.cluster,
replication factor 3, ``min.insync.replicas=2``). Each measures how long the system took to recover,
kept in the report under ``broker_recoveries``:

- ``KillPartitionLeader``: kill -9 the leader of a busy partition; a new leader is elected, the
  producers write to the partition again and its consumers commit again; the node is restarted and
  rejoins the partition's in-sync replicas.
- ``KillController``: kill -9 the active KRaft controller; the quorum elects another, which changes
  metadata again (a topic can be created); the node is restarted and rejoins.
- ``PauseNode``: SIGSTOP a partition leader for longer than the broker session timeout (9 s); it is
  fenced and its partitions move; SIGCONT, and it catches up and rejoins.
- ``TwoNodesDown``: kill -9 two of the three nodes for 20 s. Writes cannot reach two in-sync replicas
  and the quorum has no majority: nothing is published. Orders are still accepted over REST (the
  outbox holds them), and every one is decided once the nodes return (the checker's part).
"""

import random
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg2
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from devstack import broker_auth
from devstack.broker import broker_answers
from devstack.cluster import Cluster
from e2e.faults import ChaosContext

BUSY_TOPIC = "payments.commands"  # every saga's first command travels here
BUSY_GROUP = "payments"  # and the payments worker's group consumes it


def _cluster(context: ChaosContext) -> Cluster:
    if context.stack.cluster is None:
        raise RuntimeError("the brokers profile runs a cluster of its own (StackConfig.brokers = 3)")
    return context.stack.cluster


def _times_until(
    conditions: dict[str, Callable[[], bool]], since: float, timeout: float = 90.0
) -> dict[str, float | None]:
    """Seconds from ``since`` until each condition first held, all polled together (None: not within
    ``timeout`` of ``since``)."""
    times: dict[str, float | None] = dict.fromkeys(conditions)
    pending = dict(conditions)
    while pending and time.monotonic() - since < timeout:
        for name, condition in list(pending.items()):
            try:
                held = condition()
            except Exception:  # a node that cannot answer yet: ask again
                held = False
            if held:
                times[name] = round(time.monotonic() - since, 1)
                del pending[name]
        time.sleep(0.2)
    return times


def _seconds_until(condition: Callable[[], bool], since: float, timeout: float = 90.0) -> float | None:
    return _times_until({"it": condition}, since, timeout)["it"]


def _running_bootstrap(cluster: Cluster) -> str:
    return ",".join(node.bootstrap for node in cluster.nodes if cluster.running(node.node_id))


def _high_watermark(cluster: Cluster, topic: str, partition: int) -> int:
    consumer = Consumer({**broker_auth.client_config(_running_bootstrap(cluster)), "group.id": "chaos-probe"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)[1])
    finally:
        consumer.close()


def _committed(cluster: Cluster, group: str, topic: str, partition: int) -> int:
    consumer = Consumer({**broker_auth.client_config(_running_bootstrap(cluster)), "group.id": group})
    try:
        (found,) = consumer.committed([TopicPartition(topic, partition)], timeout=5)
        return int(found.offset)
    finally:
        consumer.close()


@dataclass(frozen=True)
class Position:
    """Where the busy partition stood just before a fault: its high watermark and the group's commit."""

    written: int
    committed: int

    @classmethod
    def of(cls, context: ChaosContext, cluster: Cluster, partition: int) -> "Position":
        topic = context.topic(BUSY_TOPIC)
        return cls(
            _high_watermark_or(cluster, topic, partition),
            _committed_or(cluster, context.topic(BUSY_GROUP), topic, partition),
        )


def _resumption(
    context: ChaosContext, cluster: Cluster, partition: int, killed: int, killed_at: float, before: Position
) -> dict[str, Any]:
    """How long after node ``killed`` went at ``killed_at`` the busy partition had another leader, took
    new records (the orchestrator's relay producing) and saw its consumers commit past where they were
    (the payments worker) past what was written before the fault."""
    topic, group = context.topic(BUSY_TOPIC), context.topic(BUSY_GROUP)
    return _times_until(
        {
            "leader_elected_s": lambda: cluster.partition(topic, partition)[0] not in (killed, -1),
            "producers_resumed_s": lambda: _high_watermark(cluster, topic, partition) > before.written,
            # past what was written before the fault: offsets are committed on a timer, so a commit of
            # ones handled before it would not show that consumers resumed
            "consumers_resumed_s": lambda: _committed(cluster, group, topic, partition) > before.written,
        },
        killed_at,
    )


def _high_watermark_or(cluster: Cluster, topic: str, partition: int, default: int = -1) -> int:
    try:
        return _high_watermark(cluster, topic, partition)
    except KafkaException:
        return default


def _committed_or(cluster: Cluster, group: str, topic: str, partition: int, default: int = -1) -> int:
    try:
        return _committed(cluster, group, topic, partition)
    except KafkaException:
        return default


def _rejoined(cluster: Cluster, node_id: int, topic: str) -> Callable[[], bool]:
    """The node is back in the in-sync replicas of every partition of ``topic``."""

    def check() -> bool:
        partitions = AdminClient(broker_auth.client_config(_running_bootstrap(cluster))).list_topics(
            topic, timeout=5
        )
        return all(node_id in p.isrs for p in partitions.topics[topic].partitions.values())

    return check


@dataclass
class KillPartitionLeader:
    partition: int = 0
    down_seconds: float = 10.0
    kind: str = "partition leader killed"

    def describe(self) -> str:
        return (
            f"kill -9 the leader of {BUSY_TOPIC}[{self.partition}], restart it after {self.down_seconds:.0f}s"
        )

    def inject(self, context: ChaosContext) -> bool:
        cluster, topic = _cluster(context), context.topic(BUSY_TOPIC)
        leader = _leader(cluster, topic, self.partition)
        if leader is None:
            return False
        before = Position.of(context, cluster, self.partition)
        killed_at = time.monotonic()
        cluster.kill(leader)
        exit_code = cluster.processes[leader].returncode
        recovery = _resumption(context, cluster, self.partition, leader, killed_at, before)
        new_leader = cluster.partition(topic, self.partition)[0]
        time.sleep(max(0.0, killed_at + self.down_seconds - time.monotonic()))
        restarted_at = time.monotonic()
        cluster.start_node(leader)
        recovery["rejoined_after_restart_s"] = _seconds_until(_rejoined(cluster, leader, topic), restarted_at)
        context.broker_recoveries.append({"fault": self.kind, "node": leader, **recovery})
        return (
            exit_code == -signal.SIGKILL
            and new_leader not in (leader, -1)
            and all(value is not None for value in recovery.values())
        )


@dataclass
class KillController:
    down_seconds: float = 10.0
    kind: str = "controller killed"

    def describe(self) -> str:
        return f"kill -9 the active KRaft controller, restart it after {self.down_seconds:.0f}s"

    def inject(self, context: ChaosContext) -> bool:
        cluster = _cluster(context)
        controller = cluster.active_controller()
        if controller is None:
            return False
        # Producers and consumers are timed on a partition the controller led, if it led one (its
        # leader must then be elected again too), else on the first.
        topic = context.topic(BUSY_TOPIC)
        led = [p for p in range(3) if _leader(cluster, topic, p) == controller]
        partition = led[0] if led else 0
        before = Position.of(context, cluster, partition)
        killed_at = time.monotonic()
        cluster.kill(controller)
        exit_code = cluster.processes[controller].returncode
        elected = _seconds_until(lambda: cluster.active_controller() not in (controller, None), killed_at)
        # A metadata change needs the new active controller: creating a topic is one.
        probe = context.topic(f"chaos.probe-{uuid.uuid4().hex[:6]}")
        recovery: dict[str, Any] = {
            "controller_elected_s": elected,
            "metadata_changes_again_s": _seconds_until(lambda: _create_topic(cluster, probe), killed_at),
        }
        recovery |= _resumption(context, cluster, partition, controller, killed_at, before)
        recovery["partition_it_led"] = partition if led else None
        time.sleep(max(0.0, killed_at + self.down_seconds - time.monotonic()))
        restarted_at = time.monotonic()
        cluster.start_node(controller)
        recovery["rejoined_after_restart_s"] = _seconds_until(
            _rejoined(cluster, controller, context.topic(BUSY_TOPIC)), restarted_at
        )
        context.broker_recoveries.append({"fault": self.kind, "node": controller, **recovery})
        timings = [value for key, value in recovery.items() if key.endswith("_s")]
        return exit_code == -signal.SIGKILL and all(value is not None for value in timings)


def _create_topic(cluster: Cluster, name: str) -> bool:
    """Create a topic (a metadata change: only an active controller makes one). Two replicas: the
    third node is the one killed; a create that timed out here but landed counts too."""
    admin = AdminClient(broker_auth.client_config(_running_bootstrap(cluster)))
    try:
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=2)])[name].result(timeout=5)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
    return True


def _leader(cluster: Cluster, topic: str, partition: int, timeout: float = 30.0) -> int | None:
    """The partition's leader, once it has one (None: not within ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            leader = cluster.partition(topic, partition)[0]
        except Exception:  # metadata not there yet
            leader = -1
        if leader >= 0:
            return leader
        time.sleep(0.2)
    return None


@dataclass
class PauseNode:
    partition: int = 1
    seconds: float = 15.0  # longer than broker.session.timeout.ms (9 s): the controller fences it
    kind: str = "node paused"

    def describe(self) -> str:
        return f"SIGSTOP a leader of {BUSY_TOPIC} (not the controller) for {self.seconds:.0f}s"

    def inject(self, context: ChaosContext) -> bool:
        cluster, topic = _cluster(context), context.topic(BUSY_TOPIC)
        # A leader that is not the active controller: pausing that one would add an election to the
        # time its partitions take to move (9 s after a new controller, close to the pause).
        controller = cluster.active_controller()
        leaders = [_leader(cluster, topic, p) for p in range(3)]
        others = [leader for leader in leaders if leader is not None and leader != controller]
        if not others:
            return False
        leader = others[self.partition % len(others)]
        paused_at = time.monotonic()
        cluster.kill(leader, signal.SIGSTOP)
        try:
            stopped = (
                _seconds_until(lambda: _process_state(cluster, leader) == "T", paused_at, 2.0) is not None
            )
            moved = _seconds_until(lambda: leader not in _leaders(cluster, topic), paused_at, self.seconds)
            time.sleep(max(0.0, paused_at + self.seconds - time.monotonic()))
        finally:
            cluster.kill(leader, signal.SIGCONT)
        resumed_at = time.monotonic()
        recovery = {
            "leadership_moved_s": moved,
            "rejoined_after_resume_s": _seconds_until(_rejoined(cluster, leader, topic), resumed_at),
        }
        context.broker_recoveries.append({"fault": self.kind, "node": leader, **recovery})
        return stopped and all(value is not None for value in recovery.values())


def _leaders(cluster: Cluster, topic: str) -> set[int]:
    partitions = AdminClient(broker_auth.client_config(_running_bootstrap(cluster))).list_topics(
        topic, timeout=5
    )
    return {p.leader for p in partitions.topics[topic].partitions.values()}


def _process_state(cluster: Cluster, node_id: int) -> str:
    with open(f"/proc/{cluster.processes[node_id].pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0]


@dataclass
class TwoNodesDown:
    seconds: float = 20.0
    seed: int = 0
    kind: str = "two of three nodes down"

    def describe(self) -> str:
        return f"kill -9 two of the three nodes, restart them after {self.seconds:.0f}s"

    def inject(self, context: ChaosContext) -> bool:
        cluster = _cluster(context)
        # The survivor is a node that leads partitions now: the only ones whose records can be counted
        # while the others are down (a node that was paused or restarted may lead none until Kafka
        # moves leadership back, every 5 minutes).
        leading = sorted({node for node, _topic, _partition in _leadership(cluster, context)})
        if not leading:
            return False
        survivor = random.Random(self.seed).choice(leading)
        down = [node.node_id for node in cluster.nodes if node.node_id != survivor]
        accepted_before = context.acknowledged()
        stopped_at, stopped_wall = time.monotonic(), datetime.now(UTC)
        for node_id in down:
            cluster.kill(node_id)
        codes = [cluster.processes[node_id].returncode for node_id in down]
        time.sleep(2.0)  # what was in flight at the kill settles
        led = _led_by(cluster, survivor, context)
        written = _written(cluster, led)
        time.sleep(max(0.0, stopped_at + self.seconds - time.monotonic()))
        accepted = context.acknowledged() - accepted_before
        published = _written(cluster, led) - written
        # Every order taken meanwhile wrote an outbox row (OrderCreated) that must still be there.
        held = _unpublished(context, "orders", added_after=stopped_wall)
        restarted_at, restarted_wall = time.monotonic(), datetime.now(UTC)
        for node_id in down:
            cluster.start_node(node_id, wait=False)
        orders_events = context.topic("orders.events")
        recovery = {
            "nodes": down,
            "survivor": survivor,
            "partitions_the_survivor_led": len(led),
            "orders_accepted_while_down": accepted,
            "records_published_while_down": published,
            "outbox_rows_held_at_restart": held,
            **_times_until(
                {
                    # answering again, and in sync (the survivor alone could not shrink the in-sync
                    # replicas without a quorum, so they alone would say nothing)
                    "nodes_back_in_sync_s": lambda: all(
                        broker_answers(cluster.node(node_id).bootstrap, timeout=1.0)
                        and _rejoined(cluster, node_id, orders_events)()
                        for node_id in down
                    ),
                    # every row added before the restart is published
                    "outbox_drained_after_restart_s": lambda: (
                        _unpublished(context, "orders", added_before=restarted_wall) == 0
                    ),
                },
                restarted_at,
                timeout=120,
            ),
        }
        context.broker_recoveries.append({"fault": self.kind, **recovery})
        return (
            codes == [-signal.SIGKILL, -signal.SIGKILL]
            and all(cluster.running(node_id) for node_id in down)
            and accepted > 0
            and bool(led)  # (or "nothing published" would prove nothing)
            and published == 0
            and held >= accepted
            and recovery["nodes_back_in_sync_s"] is not None
            and recovery["outbox_drained_after_restart_s"] is not None
        )


def _leadership(
    cluster: Cluster, context: ChaosContext, bootstrap: str | None = None
) -> list[tuple[int, str, int]]:
    """(leader, topic, partition) of every partition of the system's topics."""
    admin = AdminClient(broker_auth.client_config(bootstrap or _running_bootstrap(cluster)))
    metadata = admin.list_topics(timeout=5)
    prefix = context.topic("")
    return [
        (partition.leader, name, partition.id)
        for name, topic in metadata.topics.items()
        if name.startswith(prefix)
        for partition in topic.partitions.values()
    ]


def _led_by(cluster: Cluster, node_id: int, context: ChaosContext) -> list[tuple[str, int]]:
    """The partitions of the system's topics that ``node_id`` leads (the others, led by a node that is
    down, have no leader while the quorum has no majority to elect one)."""
    leadership = _leadership(cluster, context, cluster.node(node_id).bootstrap)
    return [(topic, partition) for leader, topic, partition in leadership if leader == node_id]


def _written(cluster: Cluster, partitions: list[tuple[str, int]]) -> int:
    """Records committed (below the high watermark) on ``partitions``, in all."""
    return sum(_high_watermark(cluster, topic, partition) for topic, partition in partitions)


def _unpublished(
    context: ChaosContext,
    service: str,
    *,
    added_after: datetime | None = None,
    added_before: datetime | None = None,
) -> int:
    """Outbox rows of ``service`` not yet published, added within the bounds given."""
    from devstack.services import SERVICES

    url = context.database_url(next(s for s in SERVICES if s.name == service))
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM published WHERE status <> 2"
            " AND (%(after)s IS NULL OR added > %(after)s) AND (%(before)s IS NULL OR added <= %(before)s)",
            {"after": added_after, "before": added_before},
        )
        row = cursor.fetchone()
    connection.close()
    return int(row[0]) if row else 0
