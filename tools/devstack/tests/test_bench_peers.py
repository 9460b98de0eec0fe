"""make bench's peers (bench/peers): the workload's rows on real PostgreSQL, each peer placing orders
end to end on its real engine (DBOS on PostgreSQL; Temporal's server built by ``make temporal``), and
the side-by-side table and targets the bench reports."""

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import yaml

from bench import run as bench_run
from bench import side_by_side
from bench.load import BROKE, RICH
from devstack import postgres
from peers import PEERS, load, sweep, temporal_peer, workload

SERVER = os.environ.get("POSTGRES_URL", postgres.DEFAULT_SERVER_URL)
CREDIT = "10.00"


@pytest.fixture
def execute() -> Iterator[workload.Execute]:
    """``workload``'s steps on a scratch database with its schema and a RICH account; each statement
    committed (a step's statements are one transaction in the peers; here each is checked alone)."""
    name = f"test_peer_workload_{uuid.uuid4().hex[:8]}"
    admin = f"{SERVER}/postgres"
    postgres.ensure_databases([name], admin)
    connection = psycopg2.connect(f"{SERVER}/{name}")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(workload.SCHEMA)

            def run(sql: str, params: dict[str, Any]) -> list[Any]:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []

            workload.open_account(run, RICH, CREDIT)
            yield run
    finally:
        connection.close()
        postgres.drop_databases([name], admin)


def place(execute: workload.Execute, customer: str, country: str, total: str = "1.00") -> str:
    """The peers' workflow, step by step (``dbos_peer.place_order``, ``PlaceOrder.run``)."""
    order_id = str(uuid.uuid4())
    workload.create_order(execute, order_id, customer, total, country)
    if not workload.authorize_payment(execute, order_id, customer, total):
        workload.decide(execute, order_id, workload.REJECTED)
    elif not workload.schedule_shipment(execute, order_id, country):
        workload.release_payment(execute, order_id)
        workload.decide(execute, order_id, workload.REJECTED)
    else:
        workload.capture_payment(execute, order_id)
        workload.decide(execute, order_id, workload.APPROVED)
    return order_id


def rows(execute: workload.Execute, order_id: str) -> tuple[Any, ...]:
    order = execute("SELECT status FROM orders WHERE id = %(id)s", {"id": order_id})
    payment = execute("SELECT status FROM payments WHERE order_id = %(id)s", {"id": order_id})
    shipment = execute("SELECT status FROM shipments WHERE order_id = %(id)s", {"id": order_id})
    return tuple(r[0][0] if r else None for r in (order, payment, shipment))


def available(execute: workload.Execute) -> str:
    return str(execute("SELECT available FROM accounts WHERE customer = %(c)s", {"c": RICH})[0][0])


def test_each_outcome_writes_the_rows_our_saga_does(execute: workload.Execute) -> None:
    approved = place(execute, RICH, "DE")
    assert rows(execute, approved) == ("APPROVED", "CAPTURED", "SCHEDULED")
    declined = place(execute, BROKE, "DE")  # no account: declined, nothing shipped
    assert rows(execute, declined) == ("REJECTED", "DECLINED", None)
    not_shipped = place(execute, RICH, "AQ")  # refused by shipping: the payment released
    assert rows(execute, not_shipped) == ("REJECTED", "RELEASED", "REJECTED")
    too_dear = place(execute, RICH, "DE", total="50.00")  # more than the credit left
    assert rows(execute, too_dear) == ("REJECTED", "DECLINED", None)
    assert available(execute) == "9.00"  # only the approved order's 1.00 is held


def test_a_step_run_again_changes_nothing(execute: workload.Execute) -> None:
    """Temporal runs an activity again when its answer is lost: the second run must find the first's."""
    order_id = str(uuid.uuid4())
    workload.create_order(execute, order_id, RICH, "1.00", "AQ")
    assert workload.authorize_payment(execute, order_id, RICH, "1.00")
    assert workload.authorize_payment(execute, order_id, RICH, "1.00")
    assert available(execute) == "9.00"  # debited once
    assert not workload.schedule_shipment(execute, order_id, "AQ")
    assert not workload.schedule_shipment(execute, order_id, "AQ")
    workload.release_payment(execute, order_id)
    workload.release_payment(execute, order_id)
    assert available(execute) == "10.00"  # credited back once
    workload.decide(execute, order_id, workload.REJECTED)
    workload.decide(execute, order_id, workload.APPROVED)  # too late: the first decision stands
    assert rows(execute, order_id) == ("REJECTED", "RELEASED", "REJECTED")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", PEERS)
def test_a_peer_decides_every_order_it_acknowledges(name: str, tmp_path: Path) -> None:
    if name == "temporal":
        assert temporal_peer.SERVER.exists(), "make temporal builds the Temporal server (make test does)"
    with sweep.started(name, SERVER, tmp_path) as peer:
        offered = asyncio.run(load.offer(name, peer.target, rate=20, seconds=2))
        assert offered["offered"] == offered["acknowledged"] == 40, offered
        orders = {o["id"]: o["kind"] for o in offered["orders"]}
        decided = bench_run.decisions(peer.orders_url, list(orders), timeout=60, table="orders")
    assert len(decided) == 40
    expected = {"approve": "APPROVED", "decline": "REJECTED", "ship-reject": "REJECTED"}
    assert {order_id: status for order_id, (status, _) in decided.items()} == {
        order_id: expected[kind] for order_id, kind in orders.items()
    }
    with psycopg2.connect(peer.orders_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT available FROM accounts WHERE customer = %s", [RICH])
        left = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM payments WHERE status = 'CAPTURED'")
        captured = cursor.fetchone()
    connection.close()
    approved = sum(kind == "approve" for kind in orders.values())
    assert captured == (approved,)
    assert left is not None
    assert float(left[0]) == float(sweep.RICH_CREDIT) - approved


def test_the_temporal_servers_configuration_is_on_our_ports_and_databases() -> None:
    ports = temporal_peer.ServerPorts(*range(7001, 7010))
    config = yaml.safe_load(
        temporal_peer.server_config("postgres://me:secret@db.local:6543", "temporal_x", ports)
    )
    stores = config["persistence"]["datastores"]
    assert stores["default"]["sql"]["databaseName"] == "temporal_x"
    assert stores["visibility"]["sql"]["databaseName"] == "temporal_x_visibility"
    assert stores["default"]["sql"]["connectAddr"] == "db.local:6543"
    assert (stores["default"]["sql"]["user"], stores["default"]["sql"]["password"]) == ("me", "secret")
    assert config["services"]["frontend"]["rpc"]["grpcPort"] == 7001
    assert config["services"]["frontend"]["rpc"]["httpPort"] == 7002
    assert config["services"]["worker"]["rpc"]["membershipPort"] == 7009
    assert config["clusterMetadata"]["clusterInformation"]["active"]["rpcAddress"] == "127.0.0.1:7001"


def a_step(rate: float, decided: float, p50: float, p99: float, cpu_ms: float) -> dict[str, Any]:
    return {
        "offered_rate": rate,
        "throughput_per_s": decided,
        "latency": {"p50_ms": p50, "p99_ms": p99},
        "cpu_seconds_per_saga": cpu_ms / 1000,
    }


def report(ours_p50_at_10: float, ours_saturation: float, peer_saturation: float) -> dict[str, Any]:
    ours = [
        a_step(10, 10, ours_p50_at_10, 90, 25),
        a_step(60, 60, 50, 400, 15),
        a_step(400, ours_saturation, 9000, 12000, 11),
    ]
    peer = [
        a_step(10, 10, 36, 97, 40),
        a_step(60, 22, 9000, 15000, 50),
        a_step(400, peer_saturation, 20000, 30000, 56),
    ]
    return {
        "runs": [ours],
        "idle_cpu_percent": [{"total": 4.0}],
        "saturation_throughput": {"median": ours_saturation},
        "peak_rss_bytes": {"total": 2**30},
        "limits": {"postgres_commits_per_s": 4000},
        "peers": {
            "dbos": {
                "runs": [peer],
                "idle_cpu_percent": [{"total": 1.8}],
                "saturation_throughput": {"median": peer_saturation},
                "peak_rss_bytes": {"total": 300 * 2**20},
            }
        },
    }


def test_the_targets_are_met_by_figures_that_meet_them_and_missed_by_figures_that_do_not() -> None:
    good = side_by_side.targets(report(ours_p50_at_10=45, ours_saturation=160, peer_saturation=22))
    assert all(row["met"] for row in good), side_by_side.format_targets(good)
    assert "MISSED" not in side_by_side.format_targets(good)
    bad = {row["target"]: row for row in side_by_side.targets(report(120, 40, 30))}
    missed = {target for target, row in bad.items() if not row["met"]}
    assert missed == {
        "saturation, sagas/s, at least 1.5 x the best peer's",  # 40 < 45
        "saturation, sagas/s, at least 150 (or 0.04 per pgbench commit/s)",  # 40 < min(150, 160)
        "p50 at 10 orders/s, ms",  # 120 > 60
        "the burst's sagas/s, at least the best sustained step's",  # 40 < 60
    }
    assert bad["p50 at 10 orders/s, ms"]["value"] == 120
    assert "MISSED       p50 at 10 orders/s, ms: 120 (<= 60.0)" in side_by_side.format_targets(
        list(bad.values())
    )


def test_the_side_by_side_table_has_every_system_at_every_rate() -> None:
    lines = side_by_side.table(report(45, 160, 22)).splitlines()
    assert lines[0].startswith("| offered/s | sagas/s: ours / dbos | p50 ms: ours / dbos")
    assert lines[2] == "| 10.0 | 10.0 / 10.0 | 45.0 / 36.0 | 90.0 / 97.0 | 25.0 / 40.0 |"
    assert lines[4].startswith("| 400 | 160 / 22.0 |")
    assert lines[-2] == "idle CPU, % of one core (ours / dbos): 4.00 / 1.80"
    assert lines[-1].endswith("(ours / dbos): 1024 / 300")


def test_idle_is_judged_warm_where_it_was_measured_after_the_sweep() -> None:
    measured = report(45, 160, 22)
    assert side_by_side.idle_cores(side_by_side.systems(measured)["ours"]) == 0.04  # only the first
    measured["idle_cpu_percent_warm"] = [{"total": 2.0}]
    assert side_by_side.idle_cores(side_by_side.systems(measured)["ours"]) == 0.02
    idle = {row["target"]: row for row in side_by_side.targets(measured)}["idle, cores"]
    assert (idle["value"], idle["met"]) == (0.02, True)
