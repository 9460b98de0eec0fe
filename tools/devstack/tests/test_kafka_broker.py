"""The Apache Kafka devstack runs (from the cached jars): it answers, and a broker restarted on the same
log directory (make up's .run/kafka) still has every message and every committed offset, including a
log from before the broker required authentication."""

import os
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from devstack import broker_auth, kafka
from devstack.broker import controller_port, free_port, start_broker, stop_broker
from devstack.services import REPO_ROOT


@pytest.mark.skipif(os.environ.get("BROKER") == "tansu", reason="BROKER=tansu: no Java or Kafka installed")
def test_a_restarted_broker_keeps_its_messages_and_offsets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKER", "kafka")
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = start_broker(port, tmp_path / "broker.log", tmp_path / "kafka")
    try:
        producer = Producer(
            {**broker_auth.client_config(bootstrap), "acks": "all", "enable.idempotence": True}
        )
        for number in range(5):
            producer.produce("kept.topic", key=b"k", value=str(number).encode())
        assert producer.flush(30) == 0
        consumer = Consumer(
            {
                **broker_auth.client_config(bootstrap),
                "group.id": "kept",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe(["kept.topic"])
        first = None
        deadline = time.monotonic() + 60
        while first is None:
            assert time.monotonic() < deadline, "no message consumed within 60 s"
            message = consumer.poll(1)
            if message is not None and not message.error():
                first = message
        consumer.commit(message=first, asynchronous=False)  # one of five handled
        partition, offset = first.partition() or 0, first.offset() or 0
        consumer.close()
    finally:
        stop_broker(broker)
    controller_port = (tmp_path / "kafka" / "controller.port").read_text()
    broker = start_broker(port, tmp_path / "broker.log", tmp_path / "kafka")
    assert (tmp_path / "kafka" / "controller.port").read_text() == controller_port
    try:
        consumer = Consumer(
            {**broker_auth.client_config(bootstrap), "group.id": "kept", "auto.offset.reset": "earliest"}
        )
        committed = consumer.committed([TopicPartition("kept.topic", partition)], timeout=30)
        assert committed[0].offset == offset + 1
        low, high = consumer.get_watermark_offsets(TopicPartition("kept.topic", partition), timeout=30)
        assert (low, high) == (0, 5)
        consumer.close()
    finally:
        stop_broker(broker)


@pytest.mark.skipif(os.environ.get("BROKER") == "tansu", reason="BROKER=tansu: no Java or Kafka installed")
def test_a_broker_started_without_a_folder_leaves_none_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER", "kafka")
    port = free_port()
    broker = start_broker(port)
    scratch = REPO_ROOT / ".run" / f"kafka-{port}"
    assert (scratch / "log" / "meta.properties").exists()
    stop_broker(broker)
    assert broker.returncode is not None
    assert not scratch.exists()


@pytest.mark.skipif(os.environ.get("BROKER") == "tansu", reason="BROKER=tansu: no Java or Kafka installed")
def test_a_log_formatted_before_authentication_gets_the_admin_key_and_keeps_its_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """make up's .run/kafka of a checkout from before the broker required authentication: the next start
    adds the admin's SCRAM key (without it no one could authenticate) and keeps every message."""
    monkeypatch.setenv("BROKER", "kafka")
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    data = tmp_path / "kafka"
    node = kafka.Node(node_id=1, port=port, controller_port=controller_port(port, data), data_dir=data)
    config = data / "server.properties"
    # as devstack wrote it before: no authentication, the clients' listener named PLAINTEXT
    old_settings = {
        k: v.replace("BROKER", "PLAINTEXT") for k, v in kafka.server_properties(node, [node], None).items()
    }
    config.write_text("".join(f"{k}={v}\n" for k, v in old_settings.items()))
    subprocess.run(
        kafka._java(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            kafka.new_cluster_id(),
            "-c",
            str(config),
            "--standalone",
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    old = subprocess.Popen(kafka._java("kafka.Kafka", str(config)), stdout=subprocess.DEVNULL)
    try:
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 60000})
        producer.produce("kept.topic", value=b"from before", partition=0)
        assert producer.flush(60) == 0
    finally:
        old.terminate()
        old.wait(60)

    broker = start_broker(port, tmp_path / "broker.log", data)
    try:
        consumer = Consumer(
            {**broker_auth.client_config(bootstrap), "group.id": "g", "auto.offset.reset": "earliest"}
        )
        low, high = consumer.get_watermark_offsets(TopicPartition("kept.topic", 0), timeout=30)
        assert (low, high) == (0, 1)
        consumer.close()
        # and from now on, the broker requires authentication
        reports: list[KafkaError | None] = []
        anonymous = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 3000})
        anonymous.produce("kept.topic", value=b"let in?", on_delivery=lambda error, _m: reports.append(error))
        anonymous.flush(10)
        assert [error.code() if error else None for error in reports] == [KafkaError._MSG_TIMED_OUT]
    finally:
        stop_broker(broker)
    assert (data / kafka.ADMIN_KEY_MARKER).exists()


def test_a_log_whose_admin_key_has_another_password_is_refused_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """.run/local.env deleted or changed while .run/kafka was kept: no client could authenticate as admin,
    so the start stops with what to do instead of a broker no one can use."""
    monkeypatch.setenv("KAFKA_PASSWORD_ADMIN", "the-password-now")
    node = kafka.Node(node_id=1, port=19092, controller_port=19093, data_dir=tmp_path)
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "meta.properties").write_text("formatted\n")
    (tmp_path / kafka.ADMIN_KEY_MARKER).write_text(kafka._password_digest("the-password-then"))
    with pytest.raises(RuntimeError, match="another password"):
        kafka.prepare(node, [node])
    (tmp_path / kafka.ADMIN_KEY_MARKER).write_text(kafka._password_digest("the-password-now"))
    config = kafka.prepare(node, [node])
    assert config.stat().st_mode & 0o077 == 0  # the JAAS lines hold the admin's password
