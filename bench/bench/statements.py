"""What the stack's databases spent their time on, per saga: pg_stat_statements around each step.

pg_stat_statements counts only if the server preloads it (``shared_preload_libraries``, read at start).
If it does, the bench creates the extension in the ``postgres`` database, resets the counters before
each step (``pg_stat_statements_reset()``: the whole server's, so a shared server's other users lose
theirs too) and reads after it the statements of the stack's databases (their names start with the
bench's database prefix), the top ones by total execution time. If it does not, ``prepare(enable=True)``
(``--enable-pg-stat-statements``, which ``make bench`` passes) adds it to the preloaded libraries and
restarts the server, but only the local Debian cluster (pg_lsclusters, pg_ctlcluster, and the server on
127.0.0.1): a server somewhere else is not ours to restart, and then each step records
``"top_statements": null`` and the report says why.

The bench's own statements (it polls the orders database for decisions) carry ``BENCH_MARK`` and are
left out: they are the measurement, not the system.
"""

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg2
from psycopg2 import sql

from devstack import postgres

EXTENSION = "pg_stat_statements"
BENCH_MARK = "/* bench */"  # in the text of the bench's own queries: not counted as the stack's
TOP = 10
QUERY_CHARS = 200

TOP_STATEMENTS = """
SELECT d.datname, s.query, s.calls, s.total_exec_time
  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
 WHERE left(d.datname, length(%(prefix)s)) = %(prefix)s AND strpos(s.query, %(mark)s) = 0
 ORDER BY s.total_exec_time DESC
 LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Availability:
    """Whether the steps can read pg_stat_statements; if not, ``note`` says why in one line."""

    available: bool
    note: str | None = None
    restarted: bool = False  # the bench preloaded it and restarted the server

    def as_report(self) -> dict[str, Any]:
        return {"available": self.available, "note": self.note, "restarted_server": self.restarted}


def preloaded_libraries(value: str) -> list[str]:
    """``SHOW shared_preload_libraries`` as a list: "a, 'b'" -> ["a", "b"]."""
    return [name.strip().strip("'\"") for name in value.split(",") if name.strip().strip("'\"")]


def _execute(admin_url: str, statement: str | sql.Composable, params: Any = None) -> list[tuple[Any, ...]]:
    """One statement on its own connection in autocommit (ALTER SYSTEM refuses a transaction)."""
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def _preloaded(admin_url: str) -> list[str]:
    return preloaded_libraries(str(_execute(admin_url, "SHOW shared_preload_libraries")[0][0]))


def local_debian_cluster(
    admin_url: str, data_directory: str | None = None, listing: str | None = None
) -> tuple[str, str] | None:
    """(version, cluster name) of the local Debian cluster serving ``admin_url``, or None: the URL must
    name 127.0.0.1 (or localhost), pg_lsclusters and pg_ctlcluster must exist, and an online cluster
    must listen on the URL's port, with the server's data directory if given (``SHOW data_directory``).
    ``listing`` is pg_lsclusters' output (read here if not given)."""
    url = urlsplit(admin_url)
    if url.hostname not in ("127.0.0.1", "localhost"):
        return None
    if listing is None:
        if not (shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster")):
            return None
        listing = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
        ).stdout
    port = str(url.port or 5432)
    for line in listing.splitlines():
        fields = [*line.split(), "", "", "", "", "", ""]  # version cluster port status owner data-dir log
        online = fields[2] == port and fields[3].startswith("online")
        if online and data_directory in (None, fields[5]):
            return fields[0], fields[1]
    return None


def prepare(admin_url: str, *, enable: bool, log: Callable[[str], None] = print) -> Availability:
    """Make pg_stat_statements readable in ``admin_url``'s database if it can be (module docstring)."""
    restarted = False
    if EXTENSION not in _preloaded(admin_url):
        if not enable:
            return Availability(
                False,
                f"{EXTENSION} is not in the server's shared_preload_libraries "
                "(--enable-pg-stat-statements preloads it on the local Debian cluster, restarting it)",
            )
        data_directory = str(_execute(admin_url, "SHOW data_directory")[0][0])
        cluster = local_debian_cluster(admin_url, data_directory)
        if cluster is None:
            return Availability(
                False,
                f"{EXTENSION} is not preloaded and the server is not the local Debian cluster "
                "(pg_lsclusters, pg_ctlcluster, 127.0.0.1): not restarting it",
            )
        try:
            _preload_and_restart(admin_url, cluster, log)
        except (psycopg2.Error, subprocess.CalledProcessError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return Availability(False, f"could not preload {EXTENSION}: {first_line}")
        restarted = True
        if EXTENSION not in _preloaded(admin_url):
            return Availability(False, f"{EXTENSION} is still not preloaded after the restart", restarted)
    try:
        _execute(admin_url, f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}")
    except psycopg2.Error as error:
        return Availability(False, f"CREATE EXTENSION {EXTENSION} failed: {str(error).strip()}", restarted)
    return Availability(True, None, restarted)


def _preload_and_restart(admin_url: str, cluster: tuple[str, str], log: Callable[[str], None]) -> None:
    """ALTER SYSTEM (kept in postgresql.auto.conf: later starts preload it too), then restart the
    cluster and wait until it answers again. Libraries preloaded already stay."""
    libraries = [*_preloaded(admin_url), EXTENSION]
    value = sql.SQL(", ").join(sql.Literal(name) for name in libraries)
    _execute(admin_url, sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(value))
    version, name = cluster
    log(f"restarting PostgreSQL {version}/{name} to preload {EXTENSION} (shared_preload_libraries)")
    subprocess.run(["pg_ctlcluster", version, name, "restart"], check=True)
    deadline = time.monotonic() + 60
    while not postgres.reachable(admin_url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL does not answer at {admin_url} after its restart")
        time.sleep(0.5)


def reset(admin_url: str) -> None:
    _execute(admin_url, f"SELECT {EXTENSION}_reset()")


def top(admin_url: str, database_prefix: str, decided: int, limit: int = TOP) -> list[dict[str, Any]]:
    """The stack's top statements since the last reset, by total execution time, per decided saga."""
    rows = _execute(
        admin_url, TOP_STATEMENTS, {"prefix": database_prefix, "mark": BENCH_MARK, "limit": limit}
    )
    return per_saga(rows, decided)


def per_saga(rows: list[tuple[Any, ...]], decided: int) -> list[dict[str, Any]]:
    """(database, query, calls, total ms) rows as the report keeps them: the query's first 200
    characters on one line, calls and milliseconds per decided saga (None if none was decided)."""
    return [
        {
            "query": " ".join(str(query).split())[:QUERY_CHARS],
            "database": database,
            "calls": int(calls),
            "total_ms": round(float(total_ms), 3),
            "calls_per_saga": round(int(calls) / decided, 3) if decided else None,
            "ms_per_saga": round(float(total_ms) / decided, 4) if decided else None,
        }
        for database, query, calls, total_ms in rows
    ]


def format_top(statements: list[dict[str, Any]] | None, note: str | None = None) -> str:
    """The top statements as lines to print (the note instead when there are none)."""
    if statements is None:
        return f"top statements: none ({note or 'pg_stat_statements not read'})"
    lines = ["top statements (ms per saga, calls per saga, database, query):"]
    for row in statements:
        ms = "-" if row["ms_per_saga"] is None else f"{row['ms_per_saga']:.3f}"
        calls = "-" if row["calls_per_saga"] is None else f"{row['calls_per_saga']:.2f}"
        lines.append(f"  {ms:>9} ms {calls:>7}  {row['database']:<20} {row['query'][:100]}")
    return "\n".join(lines)
