"""Start the whole system once per run: real PostgreSQL, the shared broker, every web and worker process."""

import uuid
from collections.abc import Iterator

import pytest

from devstack import postgres
from devstack.broker import free_port
from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig
from e2e.client import SystemClient


@pytest.fixture(scope="session")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"e2e-{uuid.uuid4().hex[:8]}.",
        database_prefix="e2e_",
        ports={s.name: free_port() for s in SERVICES},
        web_workers=1,
        run_dir=tmp_path_factory.mktemp("stack"),
    )
    admin_url = f"{config.postgres_url}/postgres"
    postgres.ensure_server(admin_url)
    postgres.drop_databases([config.database_name(s) for s in SERVICES], admin_url)
    system = Stack(config, echo=False)
    try:
        system.prepare()
        system.start()
        system.wait_ready()
        yield system
    finally:
        system.stop()
        for log in sorted((config.run_dir / "logs").glob("*.log")):
            errors = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line]
            if errors:
                print(f"{log.name}: {len(errors)} tracebacks; see {log}")


@pytest.fixture(scope="session")
def client(stack: Stack) -> SystemClient:
    return SystemClient({s.name: stack.url(s.name) for s in SERVICES})


@pytest.fixture(scope="session")
def database_urls(stack: Stack) -> dict[str, str]:
    return stack.config.database_urls()
