"""The console in real headless Chromium (Debian's, driven by Playwright) against the real stack: PostgreSQL,
the broker, every web and worker process and the console, started once for this suite.

The stack runs with short step deadlines (3 s, 2 attempts), so a saga whose participant is away goes
FAILED in seconds, and with a switch that makes the orchestrator fail on OrderCreated while a file exists,
so a test can make a dead letter on demand (saga_common.faults), with Prometheus scraping every second
(its graph of the saga throughput is a screenshot too), and traced as ``make up TRACING=1`` is: every
process exports its spans to Jaeger (devstack.jaeger), and the console links a saga to its trace there.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from devstack import jaeger
from devstack.broker import free_port
from devstack.local_keys import jwt_signing_key
from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig, running_stack
from e2e.browser import CHROMIUM, CHROMIUM_ARGS
from saga_client import ShopClient
from saga_common.web.tokens import OPERATOR, mint_token


@pytest.fixture(scope="session")
def fail_switch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """While this file exists, the orchestrator's handler of OrderCreated fails (and dead-letters it)."""
    return tmp_path_factory.mktemp("switches") / "fail-order-created"


@pytest.fixture(scope="session")
def traces() -> jaeger.JaegerPorts:
    return jaeger.JaegerPorts(query=free_port(), otlp_http=free_port(), health=free_port())


@pytest.fixture(scope="session")
def stack(
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
    fail_switch: Path,
    traces: jaeger.JaegerPorts,
) -> Iterator[Stack]:
    config = StackConfig(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"browser-{uuid.uuid4().hex[:8]}.",
        database_prefix="browser_",
        ports={**{s.name: free_port() for s in SERVICES}, "console": free_port()},
        web_workers=1,
        run_dir=tmp_path_factory.mktemp("stack"),
        prometheus_port=free_port(),
        scrape_interval=1.0,
        tracing=traces,
        extra_env={
            **jaeger.stack_environment(traces),
            "OTEL_BSP_SCHEDULE_DELAY": "500",  # spans reach Jaeger within a second
            "SAGA_STEP_TIMEOUT_SECONDS": "3",
            "SAGA_STEP_MAX_ATTEMPTS": "2",
            "INBOX_MAX_ATTEMPTS": "2",
            "SAGA_FAIL_TYPES": "OrderCreated",
            "SAGA_FAIL_WHILE": str(fail_switch),
            "CONSOLE_REFRESH_SECONDS": "1",
        },
    )
    with running_stack(config) as system:
        yield system


@pytest.fixture(scope="session")
def console_url(stack: Stack) -> str:
    return stack.url("console")


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[ShopClient]:
    """The four APIs as an operator, to set the scene and to check what the browser did."""
    token = mint_token(jwt_signing_key(), "test-operator", [OPERATOR], lifetime_seconds=3600)
    with ShopClient({s.name: stack.url(s.name) for s in SERVICES}, token=token) as client:
        yield client


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
