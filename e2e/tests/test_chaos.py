"""Short chaos runs inside `make test`: each profile's faults under load, then every invariant.

The long runs (2,000 orders; every crash point in every service, or every stop twice) are
`make chaos`, `make chaos CHAOS_PROFILE=give-up` and `make chaos CHAOS_PROFILE=brokers`.
"""

import os
from pathlib import Path

import pytest

from e2e.chaos import ChaosRun, ChaosSettings
from e2e.checker import Report


def every_fault_fired(report: Report) -> None:
    assert {kind: fired for kind, (_, fired) in report.faults.items()} == {
        kind: scheduled for kind, (scheduled, _) in report.faults.items()
    }


def after_sale_happened(report: Report) -> None:
    """Cancellations and dispatches were acknowledged, and sagas of both PlaceOrder versions ran."""
    assert report.after_sale.get("cancel acknowledged", 0) > 0, report.after_sale
    assert report.after_sale.get("dispatch acknowledged", 0) > 0, report.after_sale
    kinds = {key.rsplit(" ", 1)[0] for key in report.sagas}  # "place_order v1 COMPLETED" -> its saga
    assert {"place_order v1", "place_order v2", "cancel_order v1"} <= kinds, report.sagas


def test_a_short_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    settings = ChaosSettings(orders=360, rate=12.0, seed=7, full=False, run_dir=tmp_path)
    report = ChaosRun(settings).run(print)
    print(report.table())
    assert report.violations == []
    every_fault_fired(report)
    assert len(report.faults) == 11  # every kind of fault was scheduled, the version switch too
    after_sale_happened(report)
    assert sum(report.outcomes.get("approve", {}).values()) > 0
    assert report.dead_letters["payments.commands.dlq"] >= 3
    # the database outage: every web answered 503 while it lasted, and again 200 after it
    (outage,) = report.outages
    assert {status for status, _json in outage["while_down"].values()} == {503}
    assert not any("gave up" in path for path in report.paths)  # nothing is given up here


def test_a_short_give_up_run_walks_give_ups_and_operator_actions(tmp_path: Path) -> None:
    settings = ChaosSettings(orders=300, rate=10.0, seed=3, full=False, profile="give-up", run_dir=tmp_path)
    report = ChaosRun(settings).run(print)
    print(report.table())
    assert report.violations == []
    every_fault_fired(report)
    assert set(report.faults) == {
        "worker stopped",
        "duplicates",
        "out-of-order replies",
        "late commands",
        "postgres restarted",
        "clock skewed",
        "hostile records",
        "saga version switched",
    }
    after_sale_happened(report)
    # every path the profile exists for was walked
    for path in ("gave up before the pivot", "gave up at or after the pivot", "late success undone"):
        assert sum(n for walked, n in report.paths.items() if walked.endswith(path)) > 0, path
    # FAILED sagas brought home by an operator, when the run left any FAILED: whether a short run
    # does depends on timing (on 2026-12-06 one run gave up 19 times at or after the pivot, yet no
    # saga stayed FAILED long enough to be retried); the long run always has them (docs/testing.md)
    retried_failed = sum(n for what, n in report.operators.items() if "FAILED" in what and "accepted" in what)
    operator_retries = sum(n for walked, n in report.paths.items() if walked.endswith("OperatorRetry"))
    assert (operator_retries > 0) == (retried_failed > 0), report.operators
    assert sum(report.late_commands.values()) > 0  # and refused, or the checker would have said so
    assert report.operators.get("compensate (at pivot) refused", 0) > 0
    assert sum(report.outcomes.get("approve", {}).values()) > 0


@pytest.mark.skipif(os.environ.get("BROKER") == "tansu", reason="BROKER=tansu: no Kafka cluster to run")
def test_a_short_brokers_run_survives_every_cluster_fault(tmp_path: Path) -> None:
    settings = ChaosSettings(orders=300, rate=12.0, seed=5, full=False, profile="brokers", run_dir=tmp_path)
    report = ChaosRun(settings).run(print)
    print(report.table())
    assert report.violations == []
    every_fault_fired(report)
    assert set(report.faults) == {
        "partition leader killed",
        "duplicates",
        "controller killed",
        "node paused",
        "two of three nodes down",
    }
    # with two of three nodes down, orders were taken and nothing was published, then all decided
    (outage,) = [r for r in report.broker_recoveries if r["fault"] == "two of three nodes down"]
    assert outage["orders_accepted_while_down"] > 0
    assert outage["records_published_while_down"] == 0
    assert sum(report.outcomes.get("approve", {}).values()) > 0
