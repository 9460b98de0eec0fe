"""``--baseline REF``: the same benchmark on an earlier commit, in the same run, right before this one.

Two runs on different days (or hours) of one machine are not comparable (docs/benchmarks.md, "Noise"),
so the bench measures REF back to back with the working tree: a git worktree of REF under
``bench/.run/baseline-<sha>`` (kept, and reused by the next run), its own environment
(``uv sync --frozen`` in it: the old code's packages as its lock had them), and ITS ``python -m
bench.run`` with the same arguments, less the relay benchmark and the limits (``--relay-rows 0
--no-limits``: not what is compared). Options the old bench does not know are left out, and the report
says which (``dropped_arguments``) when that changes what it measures. Its results file is read back
(tolerantly: an older bench wrote fewer fields) into the report's ``"baseline"``, and ``comparison``
sets the two side by side at each offered rate.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.services import REPO_ROOT

WORKTREES = REPO_ROOT / "bench" / ".run"
# Left out of the baseline's run (run.main handles them) or overridden there: what is compared is the
# end-to-end sweep, not the relay benchmark nor the machine's limits, measured once by this run.
NOT_PASSED = ("help", "baseline", "baseline_broker", "baseline_env")
OVERRIDES = {"relay_rows": ["--relay-rows", "0"], "limits": ["--no-limits"]}

Step = dict[str, Any]
MEASURES: dict[str, Callable[[Step], Any]] = {
    "decided_per_s": lambda s: s.get("throughput_per_s"),
    "p50_ms": lambda s: (s.get("latency") or {}).get("p50_ms"),
    "p99_ms": lambda s: (s.get("latency") or {}).get("p99_ms"),
    "cpu_ms_per_saga": lambda s: (
        None if s.get("cpu_seconds_per_saga") is None else 1000 * s["cpu_seconds_per_saga"]
    ),
    "commits_per_saga": lambda s: s.get("commits_per_saga"),
}
HEADINGS = {
    "decided_per_s": "decided/s",
    "p50_ms": "p50 ms",
    "p99_ms": "p99 ms",
    "cpu_ms_per_saga": "CPU ms/saga",
    "commits_per_saga": "commits/saga",
}


def _git(*args: str, cwd: Path = REPO_ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def resolve(ref: str) -> str:
    """The commit ``ref`` names (a sha, HEAD~3, a tag, a branch), in full."""
    try:
        return _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"--baseline {ref}: no such commit") from None


def worktree(sha: str) -> Path:
    """A worktree of ``sha`` under bench/.run (ignored by git), made once and reused."""
    path = WORKTREES / f"baseline-{sha[:10]}"
    _git("worktree", "prune")  # forget worktrees whose folders were deleted
    if (path / ".git").exists():
        head = _git("rev-parse", "HEAD", cwd=path)
        if head != sha:
            raise SystemExit(f"{path} holds {head[:10]}, not {sha[:10]}: git worktree remove --force {path}")
        return path
    if path.exists():
        raise SystemExit(f"{path} exists but is no worktree: remove it")
    path.parent.mkdir(parents=True, exist_ok=True)
    _git("worktree", "add", "--detach", str(path), sha)
    return path


def environment(path: Path) -> dict[str, str]:
    """This process's environment for the worktree's own: none of our virtualenv (uv run's
    VIRTUAL_ENV, its bin on PATH, UV_PROJECT_ENVIRONMENT would even sync into ours), its .venv first."""
    ours = Path(sys.prefix, "bin").resolve()
    dropped = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "PYTHONHOME")
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    paths = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != ours]
    env["PATH"] = os.pathsep.join([str(path / ".venv" / "bin"), *paths])
    env["PYTHONUNBUFFERED"] = "1"  # its lines as they come (run passes them on, prefixed)
    return env


def uv_command() -> list[str]:
    """uv as make runs it: from PATH (or the one running us, $UV), else python3 -m uv."""
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


def supported_options(help_text: str) -> set[str]:
    """The long options an ``argparse`` --help lists (its options section only, if it has one)."""
    section = re.split(r"\n(?:options|optional arguments):\n", help_text, maxsplit=1)
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", section[-1]))


def child_arguments(
    parser: argparse.ArgumentParser, args: argparse.Namespace, supported: set[str]
) -> tuple[list[str], list[str]]:
    """This run's settings as arguments for the baseline's bench, every value explicit (its defaults
    may differ), less ``--baseline``, with OVERRIDES; and the ones it does not know and that were not
    at their default (left out, so that run measures something else: reported)."""
    argv: list[str] = []
    dropped: list[str] = []
    for action in parser._actions:
        if not action.option_strings or action.dest in NOT_PASSED or action.dest in OVERRIDES:
            continue
        option = max(action.option_strings, key=len)
        value = getattr(args, action.dest)
        if action.nargs == 0:  # a flag (store_true, store_false): given if its value is its const
            words = [option] if value == action.const else []
        else:
            words = [] if value is None else [option, str(value)]
        if option in supported:
            argv += words
        elif value != action.default:
            dropped.append(" ".join(words) or option)
    for dest, words in OVERRIDES.items():
        if words[0] in supported:
            argv += words
        elif getattr(args, dest, None) is not None:
            dropped.append(" ".join(words))
    return argv, dropped


def run(
    ref: str, parser: argparse.ArgumentParser, args: argparse.Namespace, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Measure ``ref`` as this run will measure the working tree; return the report's "baseline"."""
    sha = resolve(ref)
    path = worktree(sha)
    env = environment(path)
    where = path.relative_to(REPO_ROOT)
    log(f"baseline: {ref} is {sha[:10]}, in {where}; installing its environment (uv sync --frozen)")
    subprocess.run(
        [*uv_command(), "sync", "--frozen", "--quiet", "--project", str(path)], cwd=path, env=env, check=True
    )
    python = str(path / ".venv" / "bin" / "python")
    help_text = subprocess.run(
        [python, "-m", "bench.run", "--help"], cwd=path, env=env, check=True, capture_output=True, text=True
    ).stdout
    argv, dropped = child_arguments(parser, args, supported_options(help_text))
    if dropped:
        log(f"baseline: its bench does not know {', '.join(dropped)}: measured without")
    results = _bench(python, argv, path, env, ref, log)
    return _summary(ref, sha, results, argv, dropped)


def run_on_broker(
    kind: str, parser: argparse.ArgumentParser, args: argparse.Namespace, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """``--baseline-broker KIND``: this very tree with ``BROKER=KIND`` (devstack.broker), right before
    this run; return the report's "baseline", named ``BROKER=KIND``."""
    argv, _ = child_arguments(parser, args, supported_options(parser.format_help()))
    env = {**os.environ, "BROKER": kind, "PYTHONUNBUFFERED": "1"}
    results = _bench(sys.executable, argv, REPO_ROOT, env, f"BROKER={kind}", log)
    return _summary(f"BROKER={kind}", "this tree", results, argv, [])


def run_with_environment(
    assignments: list[str],
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``--baseline-env NAME=VALUE``: this very tree with those variables set for every process of the
    stack (``SAGA_START_VERSIONS=place_order=1``: PlaceOrder v1), right before this run; return the
    report's "baseline", named after them."""
    argv, _ = child_arguments(parser, args, supported_options(parser.format_help()))
    chosen = dict(assignment.split("=", 1) for assignment in assignments)
    label = " ".join(assignments)
    results = _bench(
        sys.executable, argv, REPO_ROOT, {**os.environ, **chosen, "PYTHONUNBUFFERED": "1"}, label, log
    )
    return _summary(label, "this tree", results, argv, [])


def _bench(
    python: str, argv: list[str], path: Path, env: dict[str, str], label: str, log: Callable[[str], None]
) -> dict[str, Any]:
    """Run ``python -m bench.run argv`` in ``path``; return the results file it wrote."""
    log(f"baseline: {label}: python -m bench.run {' '.join(argv)}")
    started = time.time() - 1.0
    process = subprocess.Popen(
        [python, "-m", "bench.run", *argv],
        cwd=path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        log(f"baseline | {line.rstrip()}")
    if process.wait() != 0:
        raise SystemExit(f"baseline: {label}: the bench exited with {process.returncode}")
    written = [p for p in (path / "bench" / "results").glob("*.json") if p.stat().st_mtime >= started]
    if not written:
        raise SystemExit(f"baseline: {label}: the bench wrote no results in {path}/bench/results")
    results: dict[str, Any] = json.loads(max(written, key=lambda p: p.stat().st_mtime).read_text())
    return results


def _summary(
    ref: str, sha: str, results: dict[str, Any], argv: list[str], dropped: list[str]
) -> dict[str, Any]:
    return {
        "ref": ref,
        "sha": sha,
        "runs": results.get("runs", []),
        "idle_cpu_percent": results.get("idle_cpu_percent", []),
        "saturation_throughput": results.get("saturation_throughput"),
        "settings": results.get("settings"),
        "broker": results.get("broker"),
        "arguments": argv,
        "dropped_arguments": dropped,
    }


def median_at(runs: list[list[Step]], rate: float, measure: str) -> float | None:
    values = [
        float(value)
        for run in runs
        for step in run
        if step.get("offered_rate") == rate
        and (value := MEASURES[measure](step)) is not None
        and value == value  # not NaN (a step that decided nothing has no percentiles)
    ]
    return statistics.median(values) if values else None


def comparison(before: list[list[Step]], after: list[list[Step]]) -> list[dict[str, Any]]:
    """At each offered rate either run measured, the median over its sweeps of each of MEASURES,
    before (the baseline) and after (the working tree), and the change in percent."""
    rates = sorted(
        {step["offered_rate"] for run in [*before, *after] for step in run if "offered_rate" in step}
    )
    rows = []
    for rate in rates:
        row: dict[str, Any] = {"offered_rate": rate}
        for measure in MEASURES:
            old, new = median_at(before, rate, measure), median_at(after, rate, measure)
            change = None if old is None or new is None or old == 0 else round(100 * (new - old) / old, 1)
            row[measure] = {"before": old, "after": new, "change_pct": change}
        rows.append(row)
    return rows


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def format_comparison(rows: list[dict[str, Any]], title: str) -> str:
    """The comparison as a table to print: before -> after (change) per measure and offered rate."""
    width = 24
    header = f"{'offered/s':>9}  " + "".join(f"{HEADINGS[m]:<{width}}" for m in MEASURES)
    lines = [title, header.rstrip()]
    for row in rows:
        cells = []
        for measure in MEASURES:
            cell = row[measure]
            text = f"{_number(cell['before'])} -> {_number(cell['after'])}"
            if cell["change_pct"] is not None:
                text += f" ({cell['change_pct']:+.0f}%)"
            cells.append(f"{text:<{width}}")
        lines.append(f"{_number(row['offered_rate']):>9}  " + "".join(cells).rstrip())
    return "\n".join(lines)
