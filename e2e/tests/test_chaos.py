"""A short chaos run inside `make test`: one fault of each kind under load, then every invariant.

The long run (every crash point in every service, 2,000 orders) is `make chaos`.
"""

from pathlib import Path

from e2e.chaos import ChaosRun, ChaosSettings


def test_a_short_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    settings = ChaosSettings(orders=360, rate=12.0, seed=7, full=False, run_dir=tmp_path)
    report = ChaosRun(settings).run(print)
    print(report.table())
    assert report.violations == []
    assert {kind: fired for kind, (_, fired) in report.faults.items()} == {
        kind: scheduled for kind, (scheduled, _) in report.faults.items()
    }
    assert len(report.faults) == 7  # every kind of fault was scheduled
    assert sum(report.outcomes.get("approve", {}).values()) > 0
    assert report.dead_letters["payments.commands.dlq"] >= 3
