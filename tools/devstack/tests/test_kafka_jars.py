"""The lock of the broker's jars (tools/kafka/jars.sha256): a jar that differs, is missing or is extra
stops the start; the cached jars match it; the pom pins the version the docs name."""

import base64
import hashlib
import os
import uuid
from pathlib import Path

import pytest

from devstack import kafka


def _folder_and_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "jars"
    folder.mkdir()
    for name, content in {"a-1.jar": b"alpha", "b-2.jar": b"beta"}.items():
        (folder / name).write_bytes(content)
    lock = tmp_path / "jars.sha256"
    lock.write_text(
        "".join(
            f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(folder.glob("*.jar"))
        )
    )
    monkeypatch.setattr(kafka, "LOCK", lock)
    return folder


def test_jars_that_match_the_lock_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kafka.verify(_folder_and_lock(tmp_path, monkeypatch))


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (lambda folder: (folder / "a-1.jar").write_bytes(b"alpha, tampered"), "checksum differs ['a-1.jar']"),
        (lambda folder: (folder / "b-2.jar").unlink(), "missing ['b-2.jar']"),
        (lambda folder: (folder / "evil-0.jar").write_bytes(b"x"), "not in the lock ['evil-0.jar']"),
        # java's -cp folder/* loads this one too
        (lambda folder: (folder / "EVIL-0.JAR").write_bytes(b"x"), "not in the lock ['EVIL-0.JAR']"),
    ],
    ids=["tampered", "missing", "extra", "extra-upper-case"],
)
def test_jars_that_differ_from_the_lock_stop_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: object, named: str
) -> None:
    folder = _folder_and_lock(tmp_path, monkeypatch)
    broken(folder)  # type: ignore[operator]
    with pytest.raises(RuntimeError, match=named.replace("[", r"\[").replace("]", r"\]")):
        kafka.verify(folder)


def test_a_cached_folder_is_checked_again_at_every_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a folder resolved and marked complete earlier (Maven is not to be asked again)
    folder = _folder_and_lock(tmp_path, monkeypatch)
    monkeypatch.setattr(kafka, "CACHE", tmp_path / "cache")
    cached = kafka.CACHE / f"{kafka.version()}-{kafka._inputs_digest()}"
    cached.parent.mkdir()
    folder.rename(cached)
    (cached / kafka.COMPLETE).touch()
    monkeypatch.setattr(kafka, "_copy_dependencies", lambda folder: pytest.fail("resolved again"))
    assert kafka.jars() == cached
    # when a jar in it is swapped, the next start refuses it
    (cached / "a-1.jar").write_bytes(b"alpha, swapped")
    with pytest.raises(RuntimeError, match="checksum differs"):
        kafka.jars()


def test_a_changed_lock_or_pom_gets_a_folder_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _folder_and_lock(tmp_path, monkeypatch)
    before = kafka._inputs_digest()
    kafka.LOCK.write_text(kafka.LOCK.read_text() + f"{'0' * 64}  c-3.jar\n")
    assert kafka._inputs_digest() != before


@pytest.mark.skipif(os.environ.get("BROKER") == "tansu", reason="BROKER=tansu: no Java, Maven or jars")
def test_the_cached_jars_are_those_of_the_lock() -> None:
    # make test resolved them (the kafka target); this is the folder every broker of the run loads
    folder = kafka.jars()
    assert set(kafka.checksums(folder)) == {line.split()[1] for line in kafka.LOCK.read_text().splitlines()}
    kafka.verify(folder)


def test_the_lock_names_the_pinned_server_and_its_logging() -> None:
    names = {line.split()[1] for line in kafka.LOCK.read_text().splitlines()}
    assert f"kafka_2.13-{kafka.version()}.jar" in names
    assert f"kafka-server-{kafka.version()}.jar" in names
    assert any(name.startswith("log4j-slf4j-impl-") for name in names)
    assert kafka.version() in (kafka.REPO_ROOT / "docs" / "kafka.md").read_text()


def test_a_single_node_is_broker_and_controller_on_loopback(tmp_path: Path) -> None:
    node = kafka.Node(node_id=1, port=19092, controller_port=19093, data_dir=tmp_path)
    settings = kafka.server_properties(node, [node], "secret")
    assert settings["process.roles"] == "broker,controller"
    assert settings["listeners"] == "BROKER://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    # clients and the nodes themselves authenticate; the authorizer allows what an ACL grants
    assert settings["listener.security.protocol.map"] == "BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    assert settings["allow.everyone.if.no.acl.found"] == "false"
    assert settings["super.users"] == "User:admin"
    assert settings["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert settings["log.dirs"] == str(tmp_path / "log")


def test_a_cluster_id_never_begins_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # the storage tool takes "-t -abc" for an option: one random id in 64 failed a start
    dashed = uuid.UUID(bytes=base64.urlsafe_b64decode("-" + "A" * 21 + "=="))
    draws = iter([dashed, uuid.UUID(int=1)])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(draws))
    assert kafka.new_cluster_id() == "AAAAAAAAAAAAAAAAAAAAAQ"
