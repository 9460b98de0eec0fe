"""``devstack``: run the system locally (``make up``), stop it (``make down``), give tests their services."""

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from devstack import broker_kind, jaeger, postgres, prometheus
from devstack.broker import (
    broker_answers,
    client_env,
    describe,
    exit_on_sigterm,
    free_port,
    start_broker,
    stop_broker,
)
from devstack.local_keys import LOCAL_ENV_FILE, local_keys
from devstack.services import REPO_ROOT, SERVICES
from devstack.stack import Stack, StackConfig

PID_FILE = REPO_ROOT / ".run" / "devstack.pid"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="devstack     | %(message)s")
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="prepare and run every process in the foreground; Ctrl-C stops all")
    commands.add_parser("down", help="stop a stack started by 'devstack up'")
    services = commands.add_parser("with-services", help="run a command with PostgreSQL and a broker up")
    services.add_argument("cmd", nargs=argparse.REMAINDER)
    commands.add_parser(
        "broker", help="run the broker (Kafka; BROKER=tansu: Tansu) in the foreground on 127.0.0.1:9092"
    )
    commands.add_parser("broker-ready", help="exit 0 if the broker 'devstack broker' runs serves metadata")
    commands.add_parser("kafka-lock", help="resolve tools/kafka/pom.xml afresh; write its jars' checksums")
    commands.add_parser("prepare", help="PostgreSQL up, databases created and migrated, topics created")
    commands.add_parser("images", help="build every container image with docker or podman")
    commands.add_parser("contract-docs", help="write docs/contract: message schemas, AsyncAPI, OpenAPI")
    commands.add_parser(
        "dashboards", help="write the Grafana dashboards and the Kubernetes PrometheusRule from monitoring/"
    )
    push = commands.add_parser("push-images", help="tag our images (services, apps) for a registry; push")
    push.add_argument("--registry", required=True, help="e.g. ghcr.io/acme")
    push.add_argument("--tag", required=True, help="e.g. v0.2.0")
    commands.add_parser(
        "k8s-check", help="apply every overlay and component to a real API server with simulated nodes"
    )
    commands.add_parser("check-sizes", help="fail if a shipped file is over 300 lines without a reason")
    commands.add_parser("keys", help="make this checkout's keys (.run/local.env) if missing; print the path")
    args = parser.parse_args(argv)
    if args.command == "up":
        return up()
    if args.command == "down":
        return down()
    if args.command == "broker":
        return run_broker()
    if args.command == "broker-ready":
        return 0 if broker_answers(_local_config().kafka_bootstrap) else 1
    if args.command == "kafka-lock":
        from devstack.kafka import write_lock

        print(write_lock().relative_to(REPO_ROOT))
        return 0
    if args.command == "prepare":
        Stack(_local_config()).prepare()
        return 0
    if args.command == "contract-docs":
        from devstack.contract_docs import write

        for path in write():
            print(f"wrote {path.relative_to(REPO_ROOT)}")
        return 0
    if args.command == "dashboards":
        from devstack.dashboards import write as write_dashboards

        for path in write_dashboards():
            print(f"wrote {path.relative_to(REPO_ROOT)}")
        return 0
    if args.command == "push-images":
        from devstack.images import push_all

        for pushed in push_all(args.registry, args.tag):
            print(f"pushed {pushed}")
        return 0
    if args.command == "k8s-check":
        from devstack.k8s_check import run as check_k8s

        return check_k8s()
    if args.command == "check-sizes":
        from devstack.file_sizes import main as check_sizes

        return check_sizes()
    if args.command == "keys":
        local_keys()
        print(LOCAL_ENV_FILE.relative_to(REPO_ROOT))
        return 0
    if args.command == "images":
        from devstack.images import build_all

        for name, tag in build_all().items():
            print(f"{name:18} {tag}")
        return 0
    return with_services(args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd)


def _local_config() -> StackConfig:
    """The stack Tilt's --local mode runs: on KAFKA_BOOTSTRAP_SERVERS where that is set (a test's
    broker), else on 127.0.0.1:9092 as ``make up``; its databases and topics named with
    DEVSTACK_DATABASE_PREFIX and KAFKA_TOPIC_PREFIX where those are set (as the Tiltfile names them)."""
    return StackConfig(
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or StackConfig.kafka_bootstrap,
        database_prefix=os.environ.get("DEVSTACK_DATABASE_PREFIX", ""),
        topic_prefix=os.environ.get("KAFKA_TOPIC_PREFIX", ""),
    )


def run_broker() -> int:
    """The broker alone, in the foreground (Tilt's --local mode runs it as a resource). Where a broker
    already answers at KAFKA_BOOTSTRAP_SERVERS (the one ``make test`` starts for the whole run), it
    is used instead: it waits until stopped, so the run still has one broker."""
    config = _local_config()
    exit_on_sigterm()  # Ctrl-C raises KeyboardInterrupt: either way the finally stops the broker
    if "KAFKA_BOOTSTRAP_SERVERS" in os.environ and broker_answers(config.kafka_bootstrap):
        logging.info("a broker already answers on %s: using it", config.kafka_bootstrap)
        signal.pause()
        return 0
    port = config.kafka_bootstrap.rpartition(":")[2]
    config.run_dir.mkdir(parents=True, exist_ok=True)
    broker = start_broker(int(port), config.run_dir / "broker.log", config.run_dir / "kafka")
    try:
        return broker.wait()
    finally:
        stop_broker(broker)


def up() -> int:
    running = _running_stack_pid()
    if running is not None:
        logging.error("a stack is already running (pid %s); stop it with 'make down' first", running)
        return 1
    # One gunicorn process per web, threads for concurrency (as the images run): each then serves its
    # metrics, which Prometheus scrapes.
    # BROKERS=3: a cluster on 9092, 9094 and 9096 (controllers one port up), kept in .run/kafka-cluster
    brokers = int(os.environ.get("BROKERS", "1"))
    addresses = ",".join(f"127.0.0.1:{9092 + 2 * number}" for number in range(brokers))
    # TRACING=1: Jaeger, every process exporting its spans to it, the console's trace links to it.
    tracing = os.environ.get("TRACING", "") not in ("", "0")
    traces = jaeger.JaegerPorts() if tracing else None
    config = StackConfig(
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", addresses),
        web_workers=1,
        web_threads=8,
        prometheus_port=prometheus.PORT,
        broker_data=REPO_ROOT / ".run" / ("kafka" if brokers == 1 else "kafka-cluster"),
        brokers=brokers,
        tracing=traces,
        extra_env=jaeger.stack_environment(traces) if traces else {},
    )
    stack = Stack(config)
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    PID_FILE.parent.mkdir(parents=True, exist_ok=True)
    PID_FILE.write_text(str(os.getpid()))
    started = time.monotonic()
    try:
        stack.prepare()
        stack.start()
        stack.wait_ready()
        logging.info(
            "ready in %.1fs: %s",
            time.monotonic() - started,
            ", ".join(f"{s.name} {stack.url(s.name)}" for s in SERVICES),
        )
        for app in stack.apps:
            logging.info("the %s: open %s and sign in", app.name, stack.url(app.name))
        logging.info("Prometheus: %s (alerts: %s/alerts)", stack.prometheus_url, stack.prometheus_url)
        if traces is not None:
            logging.info("Jaeger: %s (a saga's Trace link in the console opens its trace)", traces.query_url)
        logging.info(
            "tokens the services accept: set -a; . %s; set +a, then manage.py issue_token",
            LOCAL_ENV_FILE.relative_to(REPO_ROOT),
        )
        logging.info("Ctrl-C (or 'make down') stops everything")
        while not stopping:
            exited = stack.processes.first_exited()
            if exited is not None:
                logging.error("%s exited with %s; stopping the stack", exited.name, exited.popen.returncode)
                return 1
            time.sleep(0.3)
        return 0
    finally:
        logging.info("stopping")
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean stop
        stack.stop()
        PID_FILE.unlink(missing_ok=True)
        logging.info("stopped")


def down() -> int:
    pid = _running_stack_pid()
    if pid is None:
        logging.info("no stack is running")
        return 0
    os.kill(pid, signal.SIGTERM)
    # The processes get their grace period, then the broker up to 30 s and 10 s more after a SIGKILL
    wait = 90
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            logging.info("stack stopped")
            return 0
        time.sleep(0.2)
    logging.error("stack (pid %s) still running after %ss", pid, wait)
    return 1


def _running_stack_pid() -> int | None:
    """The pid of a running 'devstack up', if any (a stale pid file is removed)."""
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        PID_FILE.unlink(missing_ok=True)
        return None
    return pid


def with_services(command: list[str]) -> int:
    """Run ``command`` with PostgreSQL up and one broker for the whole run (KAFKA_BOOTSTRAP_SERVERS)."""
    postgres.ensure_server(f"{os.environ.get('POSTGRES_URL', postgres.DEFAULT_SERVER_URL)}/postgres")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None
    exit_on_sigterm()  # a CI runner's SIGTERM still stops the broker (and deletes its folder)
    if not bootstrap or not broker_answers(bootstrap):
        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        (REPO_ROOT / ".run").mkdir(exist_ok=True)
        broker = start_broker(port, REPO_ROOT / ".run" / "test-broker.log")
        logging.info("test broker (%s) on %s", describe(), bootstrap)
    try:
        return subprocess.call(
            command,
            env={
                **broker_kind.client_settings(),  # the settings' own on this broker, unless set
                **os.environ,
                **client_env(),
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            },
        )
    finally:
        if broker is not None:
            stop_broker(broker)


if __name__ == "__main__":
    sys.exit(main())
