"""Start the whole system once per run: real PostgreSQL, the shared broker, every web and worker process."""

import uuid
from collections.abc import Iterator

import pytest

from devstack.broker import free_port
from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig, running_stack
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
    try:
        with running_stack(config) as system:
            yield system
    finally:
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
