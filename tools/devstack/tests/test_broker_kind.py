"""What the services' settings must say on each kind of broker."""

import pytest

from devstack import broker_kind


def test_tansu_keeps_a_short_fetch_wait_and_kafka_the_settings_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tansu holds every fetch for its whole wait: there the wait is each hop's latency
    monkeypatch.setenv("BROKER", "tansu")
    assert broker_kind.client_settings() == {"KAFKA_FETCH_WAIT_MAX_MS": "20"}
    monkeypatch.setenv("BROKER", "kafka")
    assert broker_kind.client_settings() == {}


def test_an_unknown_broker_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER", "rabbitmq")
    with pytest.raises(RuntimeError, match="choose one of kafka, tansu"):
        broker_kind.client_settings()
