"""The whole system in containers, started with testcontainers from compose.yaml's definitions:
PostgreSQL, Apache Kafka, every service's web and worker and every app's web (the
console), on one network.

compose.yaml is the one source of each container's image, command and environment (``e2e.compose``);
its variables are the settings, so the same suite runs with the official images where a registry
answers and with the ones `make images` builds here:

    POSTGRES_IMAGE   localhost/saga-postgres:dev    (or postgres:15)
    BROKER_IMAGE     localhost/saga-kafka:dev       (Apache Kafka from devstack's jars, with authentication
                                                     and ACLs; saga-tansu:dev when BROKER=tansu)
    IMAGE_REGISTRY, IMAGE_TAG                       the services' images: <registry>/saga-<service>:<tag>

What testcontainers does its own way: ports are published where Docker chooses (not compose's fixed
ones), one-shot services run to completion in order (the databases and migrations, then the topics
and the services' users on the broker), and a web answers to its compose name (the
console calls the APIs by it) only because it is given that network alias.

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

import requests
from testcontainers.core.config import ConnectionMode, testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from devstack import broker_kind
from devstack.images import TANSU_IMAGE
from devstack.local_keys import broker_passwords, local_keys
from devstack.services import APPS, REPO_ROOT, SERVICES, Service
from e2e.compose import ComposeService, load_compose
from saga_common.messaging.access import password_variable

POSTGRES_PASSWORD = "e2e-only-password"


def compose_services() -> dict[str, ComposeService]:
    """compose.yaml read with this environment, this checkout's keys and broker passwords, and the
    suite's database password."""
    broker = {}
    if os.environ.get("BROKER") == "tansu":  # no authentication there
        broker = {
            "BROKER_IMAGE": TANSU_IMAGE.local_tag(),
            "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
            **broker_kind.client_settings(),
        }
    passwords = {password_variable(user): password for user, password in broker_passwords().items()}
    return load_compose(
        {**broker, **os.environ, **local_keys(), **passwords, "POSTGRES_PASSWORD": POSTGRES_PASSWORD}
    )


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
    compose: dict[str, ComposeService]
    containers: dict[str, DockerContainer] = field(default_factory=dict)

    def container(self, name: str, *, alias: str | None = None) -> DockerContainer:
        """A container as compose.yaml defines ``name``: its image, command and environment."""
        spec = self.compose[name]
        container = DockerContainer(spec.image).with_network(self.network)
        if alias:
            container = container.with_network_aliases(alias)
        for key, value in spec.environment.items():
            container = container.with_env(key, value)
        return container.with_command(spec.command) if spec.command else container

    # --- infrastructure ---------------------------------------------------------------------

    def start_postgres(self) -> None:
        postgres = self.container("postgres", alias="postgres").with_exposed_ports(5432)
        postgres.waiting_for(LogMessageWaitStrategy("database system is ready to accept connections"))
        postgres.start()
        self.containers["postgres"] = postgres

    def start_broker(self) -> None:
        broker = self.container("broker", alias="broker")
        broker.start()
        self.containers["broker"] = broker

    def postgres_url(self, database: str) -> str:
        """A database's URL as seen from this machine (the published port)."""
        postgres = self.containers["postgres"]
        host, port = postgres.get_container_host_ip(), postgres.get_exposed_port(5432)
        return f"postgres://postgres:{POSTGRES_PASSWORD}@{host}:{port}/{database}"

    # --- services ---------------------------------------------------------------------------

    def run_once(self, name: str) -> None:
        """Run a one-off service of compose.yaml (migrations, topics) to completion."""
        deadline = time.monotonic() + 180
        while True:
            container = self.container(name)
            container.start()
            result = container.get_wrapped_container().wait(timeout=180)
            logs = container.get_logs()
            container.stop()
            if result["StatusCode"] == 0:
                return
            if time.monotonic() > deadline:  # compose restarts it; so do we, until PostgreSQL answers
                raise RuntimeError(f"{name} failed: {logs}")
            time.sleep(1)

    def start_services(self) -> None:
        for service in SERVICES:
            self.run_once(f"{service.name}-migrate")
        self.run_once("topics")
        for service in SERVICES:
            # its compose name on the network too: the console reaches it as http://<name>-web:8000
            name = f"{service.name}-web"
            web = self.container(name, alias=name).with_exposed_ports(8000)
            web.start()
            self.containers[name] = web
            self.start_worker(service)
        for service in SERVICES:
            self._wait_ready(self.url(service.name))

    def start_apps(self) -> None:
        """Every app's web (the console), once the services' webs answer: it calls them."""
        for app in APPS:
            name = f"{app.name}-web"
            web = self.container(name, alias=name).with_exposed_ports(8000)
            web.start()
            self.containers[name] = web
        for app in APPS:
            self._wait_ready(self.url(app.name))

    def start_worker(self, service: Service) -> None:
        worker = self.container(f"{service.name}-worker")
        worker.start()
        self.containers[f"{service.name}-worker"] = worker

    def url(self, service_name: str) -> str:
        """A service's or app's web as seen from this machine (the published port)."""
        web = self.containers[f"{service_name}-web"]
        return f"http://{web.get_container_host_ip()}:{web.get_exposed_port(8000)}"

    def database_urls(self) -> dict[str, str]:
        return {s.name: self.postgres_url(s.name) for s in SERVICES}

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
