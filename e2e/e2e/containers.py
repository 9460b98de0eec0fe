"""The whole system in containers, started with testcontainers: PostgreSQL, a Kafka-protocol broker
and every service's web and worker, on one network, configured by environment variables.

Image names are settings (environment variables), so the same suite runs with the official images
where a registry answers and with the ones `make images` builds here:

    E2E_POSTGRES_IMAGE   localhost/saga-postgres:dev    (or postgres:15)
    E2E_BROKER_IMAGE     localhost/saga-tansu:dev       (or apache/kafka:3.9.1, run in KRaft mode)
    E2E_SERVICE_IMAGES   localhost/saga-{service}:dev   (a template)

With no Docker engine, `podman_socket()` starts podman's API service and sets the testcontainers
settings ENVIRONMENT.md gives (no Ryuk, docker_host connection mode).
"""

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import requests
from testcontainers.core.config import ConnectionMode, testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from devstack.local_keys import local_keys
from devstack.services import REPO_ROOT, SERVICES, Service

POSTGRES_PASSWORD = "e2e-only-password"
# And this checkout's keys (devstack.local_keys), which SystemClient signs with: the images run
# without debug mode, where the development keys are refused.
CONTAINER_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "broker:9092",
    "KAFKA_TOPIC_PARTITIONS": "3",
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "LOG_FORMAT": "json",
}


def images() -> dict[str, str]:
    template = os.environ.get("E2E_SERVICE_IMAGES", "localhost/saga-{service}:dev")
    return {
        "postgres": os.environ.get("E2E_POSTGRES_IMAGE", "localhost/saga-postgres:dev"),
        "broker": os.environ.get("E2E_BROKER_IMAGE", "localhost/saga-tansu:dev"),
        **{s.name: template.format(service=s.name) for s in SERVICES},
    }


def podman_socket(run_dir: Path) -> subprocess.Popen[bytes] | None:
    """Point testcontainers at podman unless a Docker engine (or DOCKER_HOST) is there already."""
    if os.environ.get("DOCKER_HOST") or (
        shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    ):
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    socket = run_dir / "podman.sock"
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket}"], stderr=subprocess.DEVNULL
    )
    for _ in range(50):
        if socket.exists():
            break
        time.sleep(0.1)
    os.environ["DOCKER_HOST"] = f"unix://{socket}"
    # testcontainers read these settings when it was imported: set them on its config directly.
    testcontainers_config.ryuk_disabled = True  # the Ryuk image cannot be pulled here
    # Podman looks like a container host to testcontainers, which then fails (KeyError 'HostConfig').
    testcontainers_config.connection_mode_override = ConnectionMode.docker_host
    return service


@dataclass
class ContainerSystem:
    network: Network
    images: dict[str, str]
    containers: dict[str, DockerContainer] = field(default_factory=dict)

    # --- infrastructure ---------------------------------------------------------------------

    def start_postgres(self) -> None:
        postgres = (
            DockerContainer(self.images["postgres"])
            .with_env("POSTGRES_PASSWORD", POSTGRES_PASSWORD)
            .with_exposed_ports(5432)
            .with_network(self.network)
            .with_network_aliases("postgres")
        )
        postgres.waiting_for(LogMessageWaitStrategy("database system is ready to accept connections"))
        postgres.start()
        self.containers["postgres"] = postgres
        self._create_databases()

    def start_broker(self) -> None:
        image = self.images["broker"]
        broker = DockerContainer(image).with_network(self.network).with_network_aliases("broker")
        if "apache/kafka" in image:  # the official image, in KRaft mode, reachable as broker:9092
            for name, value in {
                "KAFKA_NODE_ID": "1",
                "KAFKA_PROCESS_ROLES": "broker,controller",
                "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
                "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://broker:9092",
                "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
                "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            }.items():
                broker = broker.with_env(name, value)
        else:
            broker = broker.with_env("ADVERTISED_LISTENER", "tcp://broker:9092")
        broker.start()
        self.containers["broker"] = broker

    def postgres_url(self, database: str, *, from_host: bool) -> str:
        if from_host:
            postgres = self.containers["postgres"]
            host, port = postgres.get_container_host_ip(), postgres.get_exposed_port(5432)
            return f"postgres://postgres:{POSTGRES_PASSWORD}@{host}:{port}/{database}"
        return f"postgres://postgres:{POSTGRES_PASSWORD}@postgres:5432/{database}"

    def _create_databases(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = psycopg2.connect(self.postgres_url("postgres", from_host=True))
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for service in SERVICES:
                cursor.execute(f'CREATE DATABASE "{service.name}"')
        connection.close()

    # --- services ---------------------------------------------------------------------------

    def service_container(self, service: Service, *command: str) -> DockerContainer:
        container = DockerContainer(self.images[service.name]).with_network(self.network)
        env = {
            **CONTAINER_ENV,
            **local_keys(),
            "DATABASE_URL": self.postgres_url(service.name, from_host=False),
        }
        for name, value in env.items():
            container = container.with_env(name, value)
        return container.with_command(list(command)) if command else container

    def run_once(self, service: Service, *command: str) -> None:
        """Run a one-off command in the service's image (migrations, topics) and wait for it."""
        container = self.service_container(service, *command)
        container.start()
        result = container.get_wrapped_container().wait(timeout=180)
        logs = container.get_logs()
        container.stop()
        if result["StatusCode"] != 0:
            raise RuntimeError(f"{service.name} {' '.join(command)} failed: {logs}")

    def start_services(self) -> None:
        for service in SERVICES:
            self.run_once(service, "python", "manage.py", "migrate", "--noinput", "-v", "0")
        self.run_once(SERVICES[0], "python", "manage.py", "create_topics")
        for service in SERVICES:
            web = self.service_container(service).with_exposed_ports(8000)
            web.start()
            self.containers[f"{service.name}-web"] = web
            self.start_worker(service)
        for service in SERVICES:
            self._wait_ready(self.url(service.name))

    def start_worker(self, service: Service) -> None:
        worker = self.service_container(service, "python", "manage.py", "run_worker").with_env(
            "KAFKA_GROUP_INSTANCE_ID", f"{service.name}-worker"
        )
        worker.start()
        self.containers[f"{service.name}-worker"] = worker

    def url(self, service_name: str) -> str:
        web = self.containers[f"{service_name}-web"]
        return f"http://{web.get_container_host_ip()}:{web.get_exposed_port(8000)}"

    def database_urls(self) -> dict[str, str]:
        return {s.name: self.postgres_url(s.name, from_host=True) for s in SERVICES}

    def stop(self) -> None:
        for container in reversed(list(self.containers.values())):
            with contextlib.suppress(Exception):  # already gone: nothing to stop
                container.stop()

    @staticmethod
    def _wait_ready(url: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{url} not ready after {timeout}s")


def repo_run_dir() -> Path:
    return REPO_ROOT / ".run" / "e2e-containers"
