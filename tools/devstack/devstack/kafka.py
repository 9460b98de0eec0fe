"""Apache Kafka from Maven Central, run with the machine's Java: no download from anywhere else.

``tools/kafka/pom.xml`` pins the broker; Maven resolves it (checking Central's checksums, ``-C``) into
``.cache/kafka/<version>/``, and every jar is then checked against ``tools/kafka/jars.sha256``, the
lock: a jar that differs, is missing or is extra stops the start. A node is one JVM running
``kafka.Kafka`` in KRaft mode, broker and controller combined, its log directory formatted once by
``kafka.tools.StorageTool``. docs/kafka.md says why this version and these settings.
"""

import base64
import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

from devstack import broker_auth
from devstack.services import REPO_ROOT
from saga_common.messaging.access import scram_upsert

logger = logging.getLogger(__name__)

KAFKA_DIR = REPO_ROOT / "tools" / "kafka"
POM = KAFKA_DIR / "pom.xml"
LOCK = KAFKA_DIR / "jars.sha256"
CACHE = Path(os.environ.get("SAGAREF_CACHE_DIR", REPO_ROOT / ".cache")) / "kafka"

# Sized for a 2-core machine shared with PostgreSQL and eight Python processes: a small heap (the
# page cache holds the logs, not the heap), few threads, and a group coordinator that does not wait
# for more members before the first rebalance.
JVM_OPTIONS = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
]
SERVER_SETTINGS = {
    "process.roles": "broker,controller",
    "controller.listener.names": "CONTROLLER",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "background.threads": "2",
    "num.recovery.threads.per.data.dir": "1",
    "log.cleaner.threads": "1",
    "num.partitions": "3",
    "offsets.topic.num.partitions": "10",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.num.partitions": "4",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "log.retention.hours": "168",
    "log.segment.bytes": str(64 * 1024 * 1024),
}


def version() -> str:
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if found is None:
        raise RuntimeError(f"{POM} names no kafka.version")
    return found.group(1)


def jars() -> Path:
    """The broker's jars, resolved by Maven once per pom and lock, and checked against the lock at
    every call (a quarter of a second): a cached folder is no proof, the lock may have changed since
    or a jar been swapped."""
    folder = CACHE / f"{version()}-{_inputs_digest()}"
    if not (folder / COMPLETE).exists():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        logger.info("resolving Apache Kafka %s from Maven Central into %s", version(), folder)
        _copy_dependencies(partial)
        verify(partial)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        (folder / COMPLETE).touch()
    verify(folder)
    return folder


COMPLETE = ".complete"  # the marker of a folder resolved to the end (the only file that is not a jar)


def _inputs_digest() -> str:
    """What the cached folder was resolved from: a changed pom or lock gets a folder of its own."""
    return hashlib.sha256(POM.read_bytes() + LOCK.read_bytes()).hexdigest()[:12]


def _copy_dependencies(folder: Path) -> None:
    """Maven resolves the pom (``-C``: a checksum that differs from Central's fails) into ``folder``."""
    subprocess.run(
        [
            "mvn", "-q", "-B", "-C", "-Dstyle.color=never", "-f", str(POM),
            "dependency:copy-dependencies", f"-DoutputDirectory={folder}", "-DincludeScope=runtime",
        ],
        check=True,
    )  # fmt: skip


def checksums(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` but the marker, whatever its name: java's ``-cp folder/*`` also loads
    ``*.JAR``, so anything there must be in the lock."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.name != COMPLETE
    }


def verify(folder: Path) -> None:
    """Fail unless ``folder`` holds exactly the jars of the lock, byte for byte."""
    locked: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            locked[name] = digest
    found = checksums(folder)
    wrong = sorted(name for name in locked.keys() & found.keys() if locked[name] != found[name])
    missing, extra = sorted(locked.keys() - found.keys()), sorted(found.keys() - locked.keys())
    if wrong or missing or extra:
        raise RuntimeError(
            f"the Kafka jars in {folder} differ from {LOCK}: checksum differs {wrong}, missing "
            f"{missing}, not in the lock {extra}. After changing the version in {POM}, run "
            "'uv run devstack kafka-lock' and review the lock's diff."
        )


def write_lock() -> Path:
    """Resolve the pom's jars afresh and record their checksums (after a version change)."""
    folder = CACHE / f"{version()}.lock"
    shutil.rmtree(folder, ignore_errors=True)
    _copy_dependencies(folder)
    LOCK.write_text("".join(f"{digest}  {name}\n" for name, digest in checksums(folder).items()))
    shutil.rmtree(folder)
    return LOCK


@dataclass(frozen=True)
class Node:
    """One KRaft node: a broker and a controller in one JVM."""

    node_id: int
    port: int  # the clients' listener
    controller_port: int
    data_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def replication_settings(nodes: int) -> dict[str, str]:
    """Three nodes or more: every topic, the group offsets and the transaction log on three replicas, two
    of them in sync for a write (``acks=all``) to succeed, as the prod overlay sets. One node can then
    go without losing or refusing a write; with two gone, writes wait (and the controllers, short of a
    majority, change nothing) until one returns."""
    if nodes < 3:
        return {}
    return {
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
        "share.coordinator.state.topic.replication.factor": "3",
        "share.coordinator.state.topic.min.isr": "2",
    }


def server_properties(node: Node, voters: list[Node], admin_password: str | None) -> dict[str, str]:
    """The node's settings; with ``admin_password``, clients must authenticate (devstack.broker_auth)."""
    return {
        **SERVER_SETTINGS,
        **replication_settings(len(voters)),
        **(broker_auth.server_settings(admin_password) if admin_password else UNAUTHENTICATED),
        "node.id": str(node.node_id),
        "listeners": f"BROKER://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"BROKER://127.0.0.1:{node.port}",
        "controller.quorum.bootstrap.servers": ",".join(f"127.0.0.1:{v.controller_port}" for v in voters),
        "log.dirs": str(node.data_dir / "log"),
    }


# Only to add the admin's key to a log directory formatted before the broker required it.
UNAUTHENTICATED = {
    "listener.security.protocol.map": "BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name": "BROKER",
}
ADMIN_KEY_MARKER = "admin-scram"  # in a node's data folder: its log holds the admin's SCRAM key


def _java(main_class: str, *args: str) -> list[str]:
    return ["java", *JVM_OPTIONS, "-cp", f"{jars()}/*", main_class, *args]


def prepare(node: Node, voters: list[Node], cluster_id: str | None = None) -> Path:
    """Write the node's server.properties; format its log directory if it was never formatted, with the
    admin's SCRAM key (or add the key to a log formatted before the broker required it)."""
    node.data_dir.mkdir(parents=True, exist_ok=True)
    password = broker_auth.admin_password()
    config = node.data_dir / "server.properties"
    marker = node.data_dir / ADMIN_KEY_MARKER
    if not (node.data_dir / "log" / "meta.properties").exists():
        _write_properties(config, server_properties(node, voters, password))
        cluster_id = cluster_id or new_cluster_id()
        standalone = ["--standalone"] if len(voters) == 1 else ["--initial-controllers", _voters(voters)]
        command = _java(
            "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), *standalone,
            *broker_auth.format_options(password),
        )  # fmt: skip
        formatted = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
        if formatted.returncode != 0:  # not CalledProcessError: it would print the admin's password
            raise RuntimeError(f"formatting {node.data_dir / 'log'} failed (exit {formatted.returncode})")
        marker.write_text(_password_digest(password))
    elif not marker.exists():
        _add_admin_key(node, voters, config, password)
    elif marker.read_text() not in ("", _password_digest(password)):
        raise RuntimeError(
            f"{node.data_dir} holds the admin key of another password than KAFKA_PASSWORD_ADMIN's (was "
            ".run/local.env deleted or changed?): restore that password, or delete the folder (its "
            "messages are lost). The admin's password is changed over the Admin API first (docs/kafka.md)"
        )
    _write_properties(config, server_properties(node, voters, password))
    return config


def _password_digest(password: str) -> str:
    """What the marker keeps of the password its log's admin key was made with: enough to tell a
    different password, not enough to recover it."""
    return hashlib.sha256(f"sagaref-kafka-admin:{password}".encode()).hexdigest()


def _write_properties(path: Path, properties: dict[str, str]) -> None:
    """Readable by this user only: the JAAS lines hold the admin's password."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))


def _add_admin_key(node: Node, voters: list[Node], config: Path, password: str) -> None:
    """A log kept from before the broker required authentication (make up's .run/kafka) holds no admin
    key, without which no one could authenticate to create it: start the node once as it used to run,
    add the key over the wire, stop it. Its messages are kept."""
    if len(voters) > 1:
        raise RuntimeError(
            f"{node.data_dir} was formatted before the broker required authentication; a cluster is not "
            "upgraded in place: stop it and delete its folder (its messages are lost)"
        )
    logger.info("adding the admin's SCRAM key to %s (formatted before authentication)", node.data_dir)
    _write_properties(config, server_properties(node, voters, None))
    process = subprocess.Popen(
        _java("kafka.Kafka", str(config)), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        admin = AdminClient({"bootstrap.servers": node.bootstrap})
        upsert = scram_upsert(broker_auth.ADMIN, password)
        deadline = time.monotonic() + 60
        while True:
            try:
                admin.alter_user_scram_credentials([upsert])[broker_auth.ADMIN].result(timeout=5)
                break
            except Exception:  # not up yet
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(60)
    (node.data_dir / ADMIN_KEY_MARKER).write_text(_password_digest(password))


def new_cluster_id() -> str:
    """A random cluster id as Kafka writes them (base64url of 16 bytes), never one that begins with
    '-': the storage tool would read ``-t -abc...`` as an option and fail the start (one id in 64
    begins so: two starts of one make test failed; Kafka's own Uuid.randomUuid skips them too)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _voters(voters: list[Node]) -> str:
    """``id@host:port:directory-id`` for every controller (KIP-853), directory ids derived from the ids."""
    return ",".join(f"{v.node_id}@127.0.0.1:{v.controller_port}:{_directory_id(v.node_id)}" for v in voters)


def _directory_id(node_id: int) -> str:
    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"sagaref-kafka-node-{node_id}").bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def start(
    node: Node, voters: list[Node], log_path: Path | None, cluster_id: str | None = None
) -> subprocess.Popen[bytes]:
    config = prepare(node, voters, cluster_id)
    with open(log_path or os.devnull, "ab") as output:  # the child keeps its own copy
        return subprocess.Popen(
            _java("kafka.Kafka", str(config)),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped last by whoever started it, not by the terminal's Ctrl-C
        )
