"""The orders web under gunicorn, as the images and devstack run it (saga_common.web.gunicorn_conf), on
the test database: what only a real server shows (chunked bodies, the metrics port), and that
neither the web nor the worker starts outside debug mode with the development keys."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

from orders.models import Order
from saga_common.web.tokens import CUSTOMER, mint_token
from tests.test_orders_api import ORDER

SERVICE_DIR = Path(__file__).resolve().parents[1]
KEY = "test-only-jwt-key-of-the-real-server-0123456789"
KEYS = {"JWT_SIGNING_KEY": KEY, "DJANGO_SECRET_KEY": "test-only-secret-key-of-the-real-server"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(**overrides: str) -> dict[str, str]:
    """The environment of a deployed service: no debug mode, no keys unless given."""
    database = settings.DATABASES["default"]
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("JWT_SIGNING_KEY", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "METRICS_PORT")
    }
    return {
        **env,
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",  # none: the web does not need the broker
        "LOG_FORMAT": "plain",
        **overrides,
    }


def gunicorn(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "orders.wsgi",
        "--config",
        "python:saga_common.web.gunicorn_conf",
    ]
    command += ["--bind", f"127.0.0.1:{port}", "--threads", "2", "--no-control-socket"]
    return subprocess.Popen(
        command,
        cwd=SERVICE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[dict[str, str]]:
    """One gunicorn for the module: its API and metrics URLs."""
    port, metrics_port = free_port(), free_port()
    process = gunicorn(port, service_env(**KEYS, METRICS_PORT=str(metrics_port)))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{output}")
            try:
                if requests.get(f"{base}/healthz/live", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not answer within 60 s")
            time.sleep(0.2)
        yield {"api": base, "metrics": f"http://127.0.0.1:{metrics_port}/metrics"}
    finally:
        process.terminate()
        process.wait(30)


def chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    """A generator body: requests sends it with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def customer_headers() -> dict[str, str]:
    token = mint_token(KEY, "c-1", [CUSTOMER])
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.mark.django_db(transaction=True)  # the server commits; this flushes its rows afterwards
def test_a_chunked_order_is_placed(server: dict[str, str]) -> None:
    sent = requests.post(
        f"{server['api']}/api/v1/orders",
        data=chunks(json.dumps(ORDER).encode()),
        headers=customer_headers(),
        timeout=10,
    )
    assert sent.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in sent.request.headers
    assert (sent.status_code, sent.json()["total"]) == (201, "25.99")
    assert Order.objects.filter(id=sent.json()["id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_over_the_limit_is_a_json_413(server: dict[str, str]) -> None:
    too_big = b"[" + b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b"]"
    refused = requests.post(
        f"{server['api']}/api/v1/orders",
        data=chunks(too_big, 64 * 1024),
        headers=customer_headers(),
        timeout=10,
    )
    assert (refused.status_code, refused.headers["Content-Type"]) == (413, "application/json")
    assert Order.objects.count() == 0


def test_an_idle_kept_alive_connection_outlives_the_clients_idle_limit(server: dict[str, str]) -> None:
    """The server must not be the one to close an idle connection a client may still send on (gunicorn's
    default 2 s did: a request sent as it closed was reset). Idle 6 s, past httpx's 5 s, then again."""
    connection = http.client.HTTPConnection(server["api"].removeprefix("http://"), timeout=10)
    try:
        statuses = []
        for pause in (0.0, 6.0):
            time.sleep(pause)
            connection.request("GET", "/healthz/live")
            answer = connection.getresponse()  # RemoteDisconnected if the server closed it meanwhile
            answer.read()
            statuses.append(answer.status)
        assert statuses == [200, 200]
    finally:
        connection.close()


def test_metrics_are_served_on_the_metrics_port_only(server: dict[str, str]) -> None:
    requests.get(f"{server['api']}/healthz/live", timeout=5)
    public = requests.get(f"{server['api']}/metrics", timeout=5)
    assert (public.status_code, public.json()) == (404, {"detail": "Not found."})
    metrics = requests.get(server["metrics"], timeout=5)
    assert metrics.status_code == 200
    assert "sagaref_django_http_requests_total_by_method_total" in metrics.text


def run_to_exit(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` in the service's folder; a process still running after 30 s started (fail)."""
    try:
        done = subprocess.run(command, cwd=SERVICE_DIR, env=env, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired as running:
        pytest.fail(f"{command} started without keys: {running.output!r}")
    return done.returncode, done.stdout.decode() + done.stderr.decode()


def test_the_web_refuses_to_start_with_the_development_keys(django_db_setup: Any) -> None:
    process = gunicorn(free_port(), service_env())
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("gunicorn started with the development keys")
    assert process.returncode != 0
    assert "saga_common.E002" in output.decode()
    assert "saga_common.E003" in output.decode()


def test_the_web_refuses_a_metrics_port_with_more_than_one_worker_process(django_db_setup: Any) -> None:
    process = gunicorn(free_port(), service_env(**KEYS, METRICS_PORT=str(free_port()), WEB_CONCURRENCY="2"))
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("two worker processes started with one metrics port")
    assert process.returncode != 0
    assert "METRICS_PORT needs one gunicorn worker process, not 2" in output.decode()


def test_the_worker_refuses_to_start_with_the_development_keys(django_db_setup: Any) -> None:
    code, output = run_to_exit([sys.executable, "manage.py", "run_worker"], service_env())
    assert code != 0
    assert "saga_common.E002" in output


def test_check_deploy_fails_without_keys_and_passes_with_them() -> None:
    code, output = run_to_exit([sys.executable, "manage.py", "check", "--deploy"], service_env())
    assert (code, "saga_common.E002" in output, "saga_common.E003" in output) == (1, True, True)
    code, output = run_to_exit([sys.executable, "manage.py", "check", "--deploy"], service_env(**KEYS))
    assert (code, "saga_common.E00" in output) == (0, False), output
    debug = service_env(DJANGO_DEBUG="true")
    assert run_to_exit([sys.executable, "manage.py", "check", "--deploy"], debug)[0] == 0
