"""One containerised system per run (testcontainers, from compose.yaml): see e2e.containers."""

from collections.abc import Iterator

import pytest
from testcontainers.core.network import Network

from devstack.services import SERVICES
from e2e.client import SystemClient
from e2e.containers import ContainerSystem, compose_services, podman_socket, repo_run_dir


@pytest.fixture(scope="session")
def system() -> Iterator[ContainerSystem]:
    podman = podman_socket(repo_run_dir())
    try:
        with Network() as network:
            containers = ContainerSystem(network, compose_services())
            try:
                containers.start_postgres()
                containers.start_broker()
                containers.start_services()
                containers.start_apps()
                yield containers
            finally:
                containers.stop()
    finally:
        if podman is not None:
            podman.terminate()
            podman.wait(10)


@pytest.fixture(scope="session")
def client(system: ContainerSystem) -> SystemClient:
    return SystemClient({s.name: system.url(s.name) for s in SERVICES})
