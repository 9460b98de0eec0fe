"""The Temporal peer: PlaceOrder's activities and worker, and the Temporal server they run on.

    python -m peers.temporal_peer worker --address HOST:PORT --database-url URL

The server is Temporal's own (``go.temporal.io/server``, built by ``make temporal`` into
.run/tools/bin/temporal-server) with PostgreSQL as its persistence, as Temporal documents for
production, on the same PostgreSQL server as the workload's rows (two databases of its own, their
schema set up by Temporal's ``temporal-sql-tool``). 4 history shards, as Temporal's development
configurations have (a shard is a unit of the server's parallelism; 2 cores do not need more).

The worker is one process with the SDK's defaults. The activities are plain functions (the SDK runs
them in a thread pool) on psycopg2, one connection per thread, one transaction per activity; they
are at least once, so ``workload``'s steps find their rows already written when run again.
"""

import argparse
import asyncio
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
from google.protobuf.duration_pb2 import Duration
from temporalio import activity
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.worker import Worker

from devstack.broker import free_port
from devstack.services import REPO_ROOT
from peers import workload
from peers.temporal_workflow import TASK_QUEUE, PlaceOrder

TOOLS = REPO_ROOT / ".run" / "tools" / "bin"
SERVER, SQL_TOOL = TOOLS / "temporal-server", TOOLS / "temporal-sql-tool"
NAMESPACE = "default"
HISTORY_SHARDS = 4
ACTIVITY_THREADS = 32  # the SDK's sync activities need an executor; as many as activities at once


# --- the activities ---------------------------------------------------------------------------------

_local = threading.local()
_database_url = ""


def _in_transaction(step: Callable[..., Any], *args: Any) -> Any:
    connection = getattr(_local, "connection", None)
    if connection is None or connection.closed:
        connection = _local.connection = psycopg2.connect(_database_url)
    try:
        with connection, connection.cursor() as cursor:

            def execute(sql: str, params: dict[str, Any]) -> list[Any]:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []

            return step(execute, *args)
    except psycopg2.OperationalError:
        connection.close()  # a new one next time; Temporal retries the activity
        raise


@activity.defn(name="create_order")
def create_order(order_id: str, customer: str, total: str, country: str) -> None:
    _in_transaction(workload.create_order, order_id, customer, total, country)


@activity.defn(name="authorize_payment")
def authorize_payment(order_id: str, customer: str, total: str) -> bool:
    return bool(_in_transaction(workload.authorize_payment, order_id, customer, total))


@activity.defn(name="schedule_shipment")
def schedule_shipment(order_id: str, country: str) -> bool:
    return bool(_in_transaction(workload.schedule_shipment, order_id, country))


@activity.defn(name="release_payment")
def release_payment(order_id: str) -> None:
    _in_transaction(workload.release_payment, order_id)


@activity.defn(name="capture_payment")
def capture_payment(order_id: str) -> None:
    _in_transaction(workload.capture_payment, order_id)


@activity.defn(name="decide")
def decide(order_id: str, status: str) -> None:
    _in_transaction(workload.decide, order_id, status)


ACTIVITIES: list[Callable[..., Any]] = [
    create_order,
    authorize_payment,
    schedule_shipment,
    release_payment,
    capture_payment,
    decide,
]


async def run_worker(address: str, database_url: str) -> None:
    global _database_url
    _database_url = database_url
    client = await Client.connect(address, namespace=NAMESPACE)
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[PlaceOrder],
            activities=ACTIVITIES,
            activity_executor=executor,
            max_concurrent_activities=ACTIVITY_THREADS,
        )
        print("temporal peer: worker polling", flush=True)
        await worker.run()


# --- the server ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerPorts:
    frontend: int
    frontend_http: int
    frontend_membership: int
    history: int
    history_membership: int
    matching: int
    matching_membership: int
    worker: int
    worker_membership: int

    @classmethod
    def free(cls) -> "ServerPorts":
        return cls(**{name: free_port() for name in cls.__dataclass_fields__})

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.frontend}"


def _datastore(database: str, host: str, port: int, user: str, password: str, connections: int) -> str:
    return f"""      sql:
        pluginName: postgres12
        databaseName: {database}
        connectAddr: "{host}:{port}"
        connectProtocol: tcp
        user: "{user}"
        password: "{password}"
        maxConns: {connections}
        maxIdleConns: {connections}
        maxConnLifetime: 1h
"""


def server_config(postgres_url: str, database: str, ports: ServerPorts) -> str:
    """The server's configuration: Temporal's config/development-postgres12.yaml, on our ports and
    databases, without its metrics and archival."""
    server = urlsplit(postgres_url)
    connection = (server.hostname or "127.0.0.1", server.port or 5432, server.username or "postgres")
    password = server.password or ""
    services = ""
    for name in ("frontend", "history", "matching", "worker"):
        services += f"""  {name}:
    rpc:
      grpcPort: {getattr(ports, name)}
      membershipPort: {getattr(ports, name + "_membership")}
      bindOnLocalHost: true
"""
        if name == "frontend":
            services += f"      httpPort: {ports.frontend_http}\n"
    return f"""log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: {HISTORY_SHARDS}
  datastores:
    default:
{_datastore(database, *connection, password, 20)}    visibility:
{_datastore(database + "_visibility", *connection, password, 2)}global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
{services}clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: {ports.address}
dcRedirectionPolicy:
  policy: noop
"""


def create_server_databases(postgres_url: str, database: str) -> None:
    """Temporal's two databases, their schema set up to the latest version by Temporal's own tool
    from the schema files built into it."""
    server = urlsplit(postgres_url)
    common = [str(SQL_TOOL), "--plugin", "postgres12", "--ep", server.hostname or "127.0.0.1"]
    common += ["--port", str(server.port or 5432), "--user", server.username or "postgres"]
    if server.password:
        common += ["--password", server.password]
    for name, schema in ((database, "temporal"), (database + "_visibility", "visibility")):
        tool = [*common, "--db", name]
        subprocess.run([*tool, "create-database"], check=True, capture_output=True)
        subprocess.run([*tool, "setup-schema", "-v", "0.0"], check=True, capture_output=True)
        subprocess.run(
            [*tool, "update-schema", "--schema-name", f"postgresql/v12/{schema}"],
            check=True,
            capture_output=True,
        )


def start_server(config_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [str(SERVER), "--config-file", str(config_path), "--allow-no-auth", "start"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _register_namespace(address: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = await Client.connect(address, namespace=NAMESPACE)
            break
        except RuntimeError:  # not listening yet
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    service = client.workflow_service
    try:
        await service.describe_namespace(DescribeNamespaceRequest(namespace=NAMESPACE))
    except Exception:
        await service.register_namespace(
            RegisterNamespaceRequest(
                namespace=NAMESPACE, workflow_execution_retention_period=Duration(seconds=86400)
            )
        )
    # the frontend caches namespaces (refreshed every few seconds): wait until it knows this one
    while True:
        try:
            await service.describe_namespace(DescribeNamespaceRequest(namespace=NAMESPACE))
            await client.count_workflows()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def wait_ready(address: str, timeout: float = 90.0) -> None:
    """Return once the server answers and knows the ``default`` namespace (registered here)."""
    asyncio.run(_register_namespace(address, timeout))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="run the worker (workflows and activities)")
    worker.add_argument("--address", required=True)
    worker.add_argument("--database-url", required=True)
    args = parser.parse_args()
    asyncio.run(run_worker(args.address, args.database_url))


if __name__ == "__main__":
    main()
