"""Make sure a PostgreSQL server answers, installing and starting Debian's if needed; create databases."""

import logging
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

logger = logging.getLogger(__name__)

# The server (no database name); services append theirs. POSTGRES_URL overrides it in devstack.
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432"
DEFAULT_ADMIN_URL = f"{DEFAULT_SERVER_URL}/postgres"


def reachable(admin_url: str = DEFAULT_ADMIN_URL) -> bool:
    try:
        psycopg2.connect(admin_url, connect_timeout=3).close()
    except psycopg2.OperationalError:
        return False
    return True


def ensure_server(admin_url: str = DEFAULT_ADMIN_URL) -> None:
    """Return once PostgreSQL answers at ``admin_url``: start the local cluster, or install one first."""
    if reachable(admin_url):
        return
    if not shutil.which("pg_ctlcluster"):
        logger.info("no PostgreSQL found: installing Debian's postgresql package")
        _run(["apt-get", "update"])
        _run(["apt-get", "install", "-y", "--no-install-recommends", "postgresql"])
    # Preinstalled or just installed, a Debian cluster wants passwords on loopback TCP: trust it first
    # (the package may also have started the cluster already, hence the reload after the start).
    _trust_local_connections()
    for version in _cluster_versions():
        logger.info("starting PostgreSQL cluster %s/main", version)
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "reload"], check=False)
    deadline = time.monotonic() + 60
    while not reachable(admin_url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL does not answer at {admin_url}")
        time.sleep(0.5)


def stop_server() -> None:
    """Stop the local Debian cluster(s) at once (``-m fast``: open connections are cut), as an outage."""
    for version in _cluster_versions():
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop", "-m", "fast"], check=False
        )


def start_server(admin_url: str = DEFAULT_ADMIN_URL) -> None:
    """Start the local cluster(s) again after ``stop_server``; return once PostgreSQL answers."""
    ensure_server(admin_url)


def ensure_databases(names: list[str], admin_url: str = DEFAULT_ADMIN_URL) -> list[str]:
    """Create the databases that do not exist yet; return the names created."""
    created = []
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    created.append(name)
    finally:
        connection.close()
    return created


def drop_databases(names: list[str], admin_url: str = DEFAULT_ADMIN_URL) -> None:
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    finally:
        connection.close()


def _cluster_versions() -> list[str]:
    root = Path("/etc/postgresql")
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def _trust_local_connections() -> None:
    """A fresh Debian cluster wants passwords on TCP; a development machine trusts loopback instead."""
    for hba in Path("/etc/postgresql").glob("*/main/pg_hba.conf"):
        lines = hba.read_text().splitlines()
        trusted = [
            "host all all 127.0.0.1/32 trust"
            if line.startswith("host") and "127.0.0.1/32" in line
            else "host all all ::1/128 trust"
            if line.startswith("host") and "::1/128" in line
            else line
            for line in lines
        ]
        if trusted != lines:
            hba.write_text("\n".join(trusted) + "\n")


def _run(command: list[str]) -> None:
    subprocess.run(
        command,
        check=True,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
