"""The KRaft controller's port: remembered by a kept log folder, chosen safely for a new one."""

import socket
from pathlib import Path

from devstack import broker


def test_a_kept_log_folder_gets_the_controller_port_it_was_first_started_with(tmp_path: Path) -> None:
    first = broker.controller_port(broker.free_port(), tmp_path / "kafka")
    with socket.socket() as taken:  # even if that port is now taken, the voter set names it
        taken.bind(("127.0.0.1", 0))
        assert broker.controller_port(taken.getsockname()[1], tmp_path / "kafka") == first


def test_the_next_port_up_is_used_when_free_and_any_free_one_when_not(tmp_path: Path) -> None:
    port = broker.free_port()  # which keeps the next one up for the controller
    assert broker.controller_port(port, tmp_path / "c") == port + 1
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        chosen = broker.controller_port(port - 1, tmp_path / "a")
        assert chosen != port
        assert broker._free(chosen)
    assert broker.controller_port(65535, tmp_path / "b") != 65536  # past the last port: no OverflowError


def test_a_free_port_is_below_the_ephemeral_range_and_never_handed_out_twice() -> None:
    # an ephemeral port can become a client's source port while its broker is down (a self-connect)
    low = broker._ephemeral_low()
    ports = [broker.free_port() for _ in range(50)]
    assert all(10000 <= port < low - 1 for port in ports)
    # each with the port one up (a node's controller): no two overlap
    kept = [p for port in ports for p in (port, port + 1)]
    assert len(set(kept)) == len(kept)
