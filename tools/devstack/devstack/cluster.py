"""Several Apache Kafka nodes on this machine: ``make up BROKERS=3``, and what the ``brokers`` chaos
profile kills, pauses and restarts.

Every node is one JVM, broker and controller in one (KRaft); the controllers are a quorum of voters
formatted together (``kafka.prepare`` with ``--initial-controllers``), and with three nodes or more
``kafka.replication_settings`` applies: replication factor 3, ``min.insync.replicas=2``.
"""

import json
import logging
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient

from devstack import broker_auth, kafka
from devstack.broker import controller_port, stop_broker, wait_for_broker

logger = logging.getLogger(__name__)


@dataclass
class Cluster:
    nodes: list[kafka.Node]
    cluster_id: str
    log_dir: Path
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def on_ports(cls, ports: list[int], data_root: Path, log_dir: Path) -> "Cluster":
        """Nodes 1..N listening on ``ports``, each keeping its log under ``data_root/node-<id>``; the
        cluster id is kept there too (every node of a cluster is formatted with the same one)."""
        data_root.mkdir(parents=True, exist_ok=True)
        id_file = data_root / "cluster.id"
        if not id_file.exists():
            id_file.write_text(kafka.new_cluster_id())
        nodes = []
        for node_id, port in enumerate(ports, start=1):
            data_dir = data_root / f"node-{node_id}"
            nodes.append(kafka.Node(node_id, port, controller_port(port, data_dir), data_dir))
        return cls(nodes, id_file.read_text().strip(), log_dir)

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> kafka.Node:
        return next(node for node in self.nodes if node.node_id == node_id)

    def start(self) -> None:
        """Start every node, then wait for each to serve metadata (the quorum needs a majority first)."""
        try:
            for node in self.nodes:
                self.start_node(node.node_id, wait=False)
            for node in self.nodes:
                wait_for_broker(node.bootstrap, self.processes[node.node_id], timeout=90)
        except BaseException:
            self.stop()
            raise

    def start_node(self, node_id: int, *, wait: bool = True) -> None:
        node = self.node(node_id)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"broker-{node_id}.log"
        process = kafka.start(node, self.nodes, log, self.cluster_id)
        self.processes[node_id] = process
        if wait:
            try:
                wait_for_broker(node.bootstrap, process, timeout=90)
            except RuntimeError as exc:  # it exited: say why, from its log
                tail = log.read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError(f"node {node_id}: {exc}; the end of {log}:\n" + "\n".join(tail)) from exc

    def kill(self, node_id: int, signum: int = signal.SIGKILL) -> None:
        """Signal one node; for SIGKILL and SIGTERM, wait until it is gone."""
        process = self.processes[node_id]
        os.kill(process.pid, signum)
        if signum in (signal.SIGKILL, signal.SIGTERM):
            process.wait(60)

    def running(self, node_id: int) -> bool:
        process = self.processes.get(node_id)
        return process is not None and process.poll() is None

    def stop(self) -> None:
        """SIGTERM every node at once (stopped one by one, the last would wait for a quorum that had
        gone), then wait for each (SIGKILL after 30 s)."""
        running = [process for process in self.processes.values() if process.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            stop_broker(process)  # already terminating: this waits, and kills if it hangs
        self.processes.clear()

    # --- what the cluster says about itself ----------------------------------------------------

    def active_controller(self) -> int | None:
        """The quorum's leader, as the newest election any node has written down (its
        ``__cluster_metadata-0/quorum-state``); None before the first election."""
        newest: tuple[int, int] | None = None
        for node in self.nodes:
            try:
                state = json.loads(
                    (node.data_dir / "log" / "__cluster_metadata-0" / "quorum-state").read_text()
                )
            except (OSError, ValueError):
                continue
            leader, epoch = state.get("leaderId", -1), state.get("leaderEpoch", -1)
            if leader >= 0 and (newest is None or epoch > newest[1]):
                newest = (leader, epoch)
        return newest[0] if newest else None

    def partition(self, topic: str, partition: int, timeout: float = 5.0) -> tuple[int, list[int]]:
        """(leader, in-sync replicas) of one partition, from any node that answers; leader -1 if none."""
        running = [node.bootstrap for node in self.nodes if self.running(node.node_id)]
        metadata = AdminClient(broker_auth.client_config(",".join(running))).list_topics(
            topic, timeout=timeout
        )
        found = metadata.topics[topic].partitions[partition]
        return found.leader, list(found.isrs)
