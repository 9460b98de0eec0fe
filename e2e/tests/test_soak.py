"""A two-minute `make soak` inside `make test`: the whole stack (its own broker, fresh bench_ databases)
at the soak's default rate, sampled every 5 s and tabled every 10 s, outbox and Idempotency-Keys pruned
every 10 s; every check must pass, and the JSON and the PNG must be written.

The 30-minute run is `make soak` (docs/testing.md#soak); its checks are tested on made-up samples in
tools/devstack/tests/test_bench_soak.py.
"""

import itertools
import json
from pathlib import Path

from bench.soak.run import Settings, soak

SHORT = Settings(minutes=2, sample_seconds=5, bucket_seconds=10, prune_seconds=10)


def test_a_two_minute_soak_holds_steady(tmp_path: Path) -> None:
    report, json_path, png_path = soak(SHORT, out_dir=tmp_path / "results", run_dir=tmp_path / "stack")
    failing = [f"{c['name']}: {c['detail']}" for c in report["checks"] if not c["passed"]]
    assert failing == []
    assert report["passed"]

    saved = json.loads(json_path.read_text())
    assert json_path.name.startswith("soak-")
    assert saved["passed"]
    assert saved["settings"]["minutes"] == 2
    assert saved["stack_environment"]["OUTBOX_RETENTION_HOURS"] == "0"
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png_path.with_suffix(".json") == json_path

    load = saved["load"]
    assert load["offered"] == SHORT.rate * SHORT.duration
    assert load["acknowledged"] == load["offered"]
    assert load["undecided"] == 0
    assert len(saved["buckets"]) == 12
    assert all(row["decided"] == row["orders"] > 0 for row in saved["buckets"])
    assert len(saved["samples"]) == SHORT.duration / SHORT.sample_seconds + 1  # from 0 s to 120 s

    names = {c["name"] for c in saved["checks"]}
    webs_and_workers = {
        f"memory {s}-{kind}"
        for s in ("orders", "payments", "shipping", "orchestrator")
        for kind in ("web", "worker")
    }
    assert webs_and_workers <= names
    for service in ("orders", "payments", "shipping", "orchestrator"):
        assert f"table {service}/published bounded" in names
        assert f"table {service}/received linear" in names
        assert f"outbox backlog {service}" in names
        assert f"consumer lag {service}" in names
    assert "table orders/orders_idempotency_key bounded" in names
    assert {f"table orchestrator/{t} linear" for t in ("saga_instance", "saga_step", "saga_event")} <= names

    # the short retention took effect: the orchestrator's outbox shrank at least once after warm-up
    outbox = [s["rows"]["orchestrator/published"] for s in saved["samples"] if s["t"] >= SHORT.duration / 3]
    assert any(after < before for before, after in itertools.pairwise(outbox))
