"""make bench's reporting helpers (bench has no suite of its own; these need no stack): the load's error
kinds, pg_stat_statements' rows per saga, the baseline's arguments and comparison, CPU by service."""

import httpx
import pytest

from bench import baseline, statements
from bench.load import ERROR_KINDS, error_kind
from bench.run import arguments, cpu_by_service, main, step_line
from saga_client.errors import ServiceUnavailable, UnexpectedResponse, error_for


def unavailable(cause: Exception) -> ServiceUnavailable:
    error = ServiceUnavailable("orders", "place_order", type(cause).__name__)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (error_for(503, {"detail": "busy"}, "orders", "place_order"), "http_status"),
        (error_for(400, {"detail": "no"}, "orders", "place_order"), "http_status"),
        (unavailable(httpx.ReadTimeout("slow")), "timeout"),
        (unavailable(httpx.ConnectTimeout("slow")), "timeout"),
        (unavailable(httpx.ConnectError("refused")), "connection"),
        (unavailable(httpx.RemoteProtocolError("reset")), "connection"),
        (UnexpectedResponse("201 but garbled", service="orders", operation="place_order"), "unreadable"),
        (RuntimeError("a bug in the load process"), "other"),
    ],
)
def test_every_failed_post_is_counted_by_kind(error: Exception, kind: str) -> None:
    assert error_kind(error) == kind
    assert kind in ERROR_KINDS


def test_preloaded_libraries_are_read_from_show() -> None:
    assert statements.preloaded_libraries("") == []
    assert statements.preloaded_libraries("pg_stat_statements") == ["pg_stat_statements"]
    assert statements.preloaded_libraries("auto_explain, 'pg_stat_statements'") == [
        "auto_explain",
        "pg_stat_statements",
    ]


LISTING = (  # pg_lsclusters --no-header
    "15  main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/15-main.log\n"
    "16  other   5433 down   postgres /var/lib/postgresql/16/other /var/log/postgresql/16-other.log\n"
)


def test_only_the_local_debian_cluster_on_the_urls_port_is_restarted() -> None:
    cluster = statements.local_debian_cluster
    here = "postgres://postgres@127.0.0.1:5432/postgres"
    assert cluster(here, listing=LISTING) == ("15", "main")
    assert cluster(here, "/var/lib/postgresql/15/main", LISTING) == ("15", "main")
    assert cluster(here, "/srv/another/server", LISTING) is None  # on that port, but not this server
    assert cluster("postgres://postgres@localhost/postgres", listing=LISTING) == ("15", "main")  # 5432
    assert cluster("postgres://postgres@127.0.0.1:5433/postgres", listing=LISTING) is None  # down
    assert cluster("postgres://postgres@127.0.0.1:5434/postgres", listing=LISTING) is None  # no cluster
    assert cluster("postgres://postgres@db.example.com:5432/postgres", listing=LISTING) is None


def test_statements_per_saga_and_printed() -> None:
    rows = [
        ("bench_orchestrator", "UPDATE  saga\n   SET state = $1 WHERE id = $2", 300, 150.0),
        ("bench_orders", "INSERT INTO orders_order " + "x" * 400, 100, 50.0),
    ]
    top = statements.per_saga(rows, decided=100)
    assert top[0] == {
        "query": "UPDATE saga SET state = $1 WHERE id = $2",
        "database": "bench_orchestrator",
        "calls": 300,
        "total_ms": 150.0,
        "calls_per_saga": 3.0,
        "ms_per_saga": 1.5,
    }
    assert len(top[1]["query"]) == statements.QUERY_CHARS
    assert statements.per_saga(rows, decided=0)[0]["ms_per_saga"] is None
    printed = statements.format_top(top).splitlines()
    assert printed[1].split()[:5] == ["1.500", "ms", "3.00", "bench_orchestrator", "UPDATE"]
    assert statements.format_top(None, "not preloaded") == "top statements: none (not preloaded)"


def test_the_baselines_arguments_are_this_runs_less_what_it_does_not_know() -> None:
    parser = arguments()
    args = parser.parse_args(
        [
            "--rates",
            "5",
            "--seconds",
            "3",
            "--workers",
            "2",
            "--baseline",
            "HEAD~1",
            "--enable-pg-stat-statements",
        ]
    )
    everything = baseline.supported_options(parser.format_help())
    argv, dropped = baseline.child_arguments(parser, args, everything)
    assert "--baseline" not in argv
    assert argv[argv.index("--rates") + 1] == "5"
    assert argv[argv.index("--seconds") + 1] == "3.0"
    assert argv[argv.index("--workers") + 1] == "2"
    assert argv[argv.index("--saturation") + 1] == "400.0"  # explicit: an older default may differ
    assert "--enable-pg-stat-statements" in argv
    assert argv[-3:] == ["--relay-rows", "0", "--no-limits"]
    assert dropped == []
    older = everything - {"--workers", "--enable-pg-stat-statements", "--tracing"}
    argv, dropped = baseline.child_arguments(parser, args, older)
    assert "--workers" not in argv
    assert "--tracing" not in argv
    assert dropped == ["--workers 2", "--enable-pg-stat-statements"]  # --tracing off is its default


def test_supported_options_come_from_the_options_section() -> None:
    text = (
        "usage: run [-h]\n\nsee --nonsense in the description\n\noptions:\n  --rates RATES\n  --no-limits\n"
    )
    assert baseline.supported_options(text) == {"--rates", "--no-limits"}


def test_the_comparison_takes_medians_by_rate_and_tolerates_older_results() -> None:
    older = [
        [
            {"offered_rate": 10.0, "throughput_per_s": 10.0, "latency": {"p50_ms": 300.0, "p99_ms": 400.0}},
            {"offered_rate": 400.0, "throughput_per_s": 29.0, "latency": {"p50_ms": float("nan")}},
        ]
    ]
    newer = [
        [
            {
                "offered_rate": 10.0,
                "throughput_per_s": 10.0,
                "latency": {"p50_ms": 90.0, "p99_ms": 130.0},
                "cpu_seconds_per_saga": 0.08,
                "commits_per_saga": 19.0,
            },
            {"offered_rate": 400.0, "throughput_per_s": 40.0, "latency": {"p50_ms": 44000.0}},
        ],
        [{"offered_rate": 10.0, "throughput_per_s": 12.0, "latency": {"p50_ms": 110.0}}],
    ]
    rows = baseline.comparison(older, newer)
    assert [row["offered_rate"] for row in rows] == [10.0, 400.0]
    assert rows[0]["p50_ms"] == {"before": 300.0, "after": 100.0, "change_pct": -66.7}
    assert rows[0]["decided_per_s"] == {"before": 10.0, "after": 11.0, "change_pct": 10.0}
    assert rows[0]["cpu_ms_per_saga"] == {"before": None, "after": 80.0, "change_pct": None}
    assert rows[1]["p50_ms"] == {"before": None, "after": 44000.0, "change_pct": None}  # NaN: none
    table = baseline.format_comparison(rows, "title").splitlines()
    assert table[0] == "title"
    assert table[2].split()[:6] == ["10.0", "10.0", "->", "11.0", "(+10%)", "300"]
    assert "- -> 80.0" in table[2]


def test_cpu_by_service_sums_every_worker() -> None:
    by_process = {
        "orders-web": 4.0,
        "orders-worker": 2.0,
        "orchestrator-web": 0.5,
        "orchestrator-worker-1": 7.0,
        "orchestrator-worker-2": 7.5,
        "broker": 4.6,
        "postgres": 8.8,
    }
    assert cpu_by_service(by_process) == {
        "orders": {"web": 4.0, "workers": 2.0, "total": 6.0},
        "orchestrator": {"web": 0.5, "workers": 14.5, "total": 15.0},
        "broker": {"total": 4.6},
        "postgres": {"total": 8.8},
    }


def test_a_steps_line_shows_what_became_of_every_order() -> None:
    result = {
        "offered_rate": 5.0,
        "offered": 15,
        "acknowledged": 13,
        "errors": 2,
        "errors_by_kind": dict.fromkeys(ERROR_KINDS, 0) | {"http_status": 1, "timeout": 1},
        "unaccounted": 0,
        "undecided": 1,
        "decided": 12,
        "throughput_per_s": 5.0,
        "latency": {"p50_ms": 80.0, "p99_ms": 120.0},
        "cpu_seconds_per_saga": 0.1,
    }
    line = step_line(result, traced=False)
    assert list(line)[:7] == [
        "tracing",
        "offered_rate",
        "offered",
        "acknowledged",
        "errors",
        "undecided",
        "errors_by_kind",
    ]
    assert line["errors_by_kind"] == {"http_status": 1, "timeout": 1}
    assert "unaccounted" not in line
    assert step_line(result | {"unaccounted": 2}, traced=True)["unaccounted"] == 2


def test_the_broker_baseline_is_this_tree_on_the_other_broker_with_this_runs_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = arguments()
    args = parser.parse_args(["--rates", "10,60", "--seconds", "5", "--baseline-broker", "tansu"])
    seen: dict[str, object] = {}

    def fake_bench(
        python: str, argv: list[str], path: object, env: dict[str, str], label: str, log: object
    ) -> dict[str, object]:
        seen.update(argv=argv, broker=env["BROKER"], label=label)
        return {"runs": [[{"offered_rate": 10.0}]], "broker": "Tansu (in memory)"}

    monkeypatch.setattr(baseline, "_bench", fake_bench)
    earlier = baseline.run_on_broker("tansu", parser, args)
    assert seen["broker"] == "tansu"
    argv = seen["argv"]
    assert isinstance(argv, list)
    assert "--baseline-broker" not in argv  # no baseline of the baseline
    assert argv[argv.index("--rates") + 1] == "10,60"
    assert "--no-limits" in argv  # what is compared is the sweep
    assert argv[argv.index("--relay-rows") + 1] == "0"
    assert earlier["ref"] == "BROKER=tansu"
    assert earlier["broker"] == "Tansu (in memory)"


def test_the_environment_baseline_is_this_tree_with_the_variables_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = arguments()
    given = ["--rates", "10", "--baseline-env", "SAGA_START_VERSIONS=place_order=1"]
    args = parser.parse_args(given)
    seen: dict[str, object] = {}

    def fake_bench(
        python: str, argv: list[str], path: object, env: dict[str, str], label: str, log: object
    ) -> dict[str, object]:
        seen.update(argv=argv, versions=env["SAGA_START_VERSIONS"], label=label)
        return {"runs": [[{"offered_rate": 10.0}]]}

    monkeypatch.setattr(baseline, "_bench", fake_bench)
    earlier = baseline.run_with_environment(args.baseline_env, parser, args)
    assert seen["versions"] == "place_order=1"  # the value keeps its own "="
    argv = seen["argv"]
    assert isinstance(argv, list)
    assert "--baseline-env" not in argv  # no baseline of the baseline
    assert earlier["ref"] == "SAGA_START_VERSIONS=place_order=1"
    with pytest.raises(SystemExit):
        main(["--baseline-env", "NOEQUALS"])
