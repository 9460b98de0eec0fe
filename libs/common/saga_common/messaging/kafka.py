"""Kafka client configuration and topic administration, all read from Django settings."""

import functools
import logging
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings

from saga_common.messaging.message import registered_messages

logger = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"


def topic_name(base: str) -> str:
    """Return the deployed name of a contract topic (a prefix lets test runs share one broker)."""
    return f"{settings.KAFKA_TOPIC_PREFIX}{base}"


def dlq_name(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def all_topic_names() -> list[str]:
    """Every topic the system's contracts travel on (``SAGA_CONTRACTS``, imported at start-up), and
    each one's dead-letter topic."""
    names = sorted({topic_name(cls.topic) for cls in registered_messages() if cls.topic})
    return names + [dlq_name(name) for name in names]


def common_config() -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "client.id": settings.SERVICE_NAME,
        **security_config(),
    }


SECURITY_SETTINGS = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
)


def security_config(values: Mapping[str, str] | None = None) -> dict[str, str]:
    """Who this process is on the broker: its SASL user, or nothing on a broker without authentication.
    ``values``: those settings by name, for a tool outside Django (devstack.broker_auth); else Django's."""
    chosen = values if values is not None else {name: getattr(settings, name) for name in SECURITY_SETTINGS}
    protocol = chosen.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT"
    if not uses_sasl(protocol):
        return {"security.protocol": protocol}
    return {
        "security.protocol": protocol,
        "sasl.mechanism": chosen.get("KAFKA_SASL_MECHANISM") or "SCRAM-SHA-512",
        "sasl.username": chosen.get("KAFKA_SASL_USERNAME", ""),
        "sasl.password": chosen.get("KAFKA_SASL_PASSWORD", ""),
    }


def uses_sasl(protocol: str) -> bool:
    """SASL_PLAINTEXT or SASL_SSL: the client authenticates with a user and password."""
    return protocol.upper().startswith("SASL")


def producer_config(**overrides: Any) -> dict[str, Any]:
    """Idempotent producer: retries cannot duplicate or reorder messages within a partition."""
    return {
        **common_config(),
        "enable.idempotence": True,
        "acks": "all",
        # Named, not left to the default: messaging.progress.partition_for computes the same mapping.
        "partitioner": "consistent_random",
        "linger.ms": settings.KAFKA_PRODUCER_LINGER_MS,
        "delivery.timeout.ms": settings.KAFKA_DELIVERY_TIMEOUT_MS,
        **overrides,
    }


def consumer_config(group_id: str, **overrides: Any) -> dict[str, Any]:
    """An offset is stored only after the database transaction that used it committed
    (``polling.store_offset``); librdkafka commits what is stored every
    ``KAFKA_AUTO_COMMIT_INTERVAL_MS``, before giving a partition up in a rebalance, and on close."""
    return {
        **common_config(),
        "group.id": group_id,
        "enable.auto.commit": True,
        "auto.commit.interval.ms": settings.KAFKA_AUTO_COMMIT_INTERVAL_MS,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.KAFKA_SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": settings.KAFKA_HEARTBEAT_INTERVAL_MS,
        "max.poll.interval.ms": settings.KAFKA_MAX_POLL_INTERVAL_MS,
        **(
            {"group.instance.id": settings.KAFKA_GROUP_INSTANCE_ID}
            if settings.KAFKA_GROUP_INSTANCE_ID
            else {}
        ),
        # the consumer's batching latency: settings.py says what it costs either way
        "fetch.wait.max.ms": settings.KAFKA_FETCH_WAIT_MAX_MS,
        **overrides,
    }


def offsets_probe_config(group_id: str) -> dict[str, Any]:
    """A client that asks the broker about offsets (committed, where partitions end) and never
    subscribes, so it never joins the group. It has connections of its own: a broker answers one
    request of a connection at a time, so a question asked on the consumer's would wait behind its
    fetch, which the broker holds up to ``fetch.wait.max.ms`` (measured: checking 32 partitions' ends
    once a second from the consumer itself made a record's produce-to-consume p50 221 ms instead of 4)."""
    return {**common_config(), "group.id": group_id, "enable.auto.commit": False}


def admin_client() -> AdminClient:
    return AdminClient(common_config())


def new_topic(name: str, partitions: int) -> NewTopic:
    """A topic as the settings describe it: its replication, and how long it keeps messages."""
    config = {"retention.ms": str(settings.KAFKA_TOPIC_RETENTION_HOURS * 3600 * 1000)}
    if settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS > 1:  # 1 is every broker's default
        config["min.insync.replicas"] = str(settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS)
    return NewTopic(
        name,
        num_partitions=partitions,
        replication_factor=settings.KAFKA_TOPIC_REPLICATION_FACTOR,
        config=config,
    )


def ensure_topics(names: list[str] | None = None, partitions: int | None = None) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    names = names or all_topic_names()
    admin = admin_client()
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [n for n in names if n not in existing]
    if not wanted:
        return []
    futures = admin.create_topics(
        [new_topic(n, partitions or settings.KAFKA_TOPIC_PARTITIONS) for n in wanted]
    )
    for name, future in futures.items():
        try:
            future.result()
        except Exception as exc:  # a concurrent creator may have won the race: that is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
        logger.info("created topic %s", name)
    return wanted


def wait_for_topics(names: list[str], timeout: float = 60.0) -> None:
    """Block until the broker answers and knows every topic in ``names``."""
    deadline = time.monotonic() + timeout
    admin = admin_client()
    while True:
        try:
            missing = set(names) - set(admin.list_topics(timeout=5).topics)
        except Exception as exc:  # broker not up yet
            missing = set(names)
            logger.info("waiting for the broker: %s", exc)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics still missing after {timeout}s: {sorted(missing)}")
        time.sleep(0.5)


@functools.cache
def _shared_admin_client() -> AdminClient:
    return admin_client()


def broker_reachable(timeout: float = 2.0) -> bool:
    """Ask the broker for metadata (through one long-lived client: creating one costs a connection)."""
    try:
        _shared_admin_client().list_topics(timeout=timeout)
    except Exception:
        return False
    return True
