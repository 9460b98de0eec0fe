"""The whole system on one machine: databases, broker, topics, and a web and one or more worker processes
per service."""

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devstack import broker, broker_auth, broker_kind, jaeger, postgres, prometheus
from devstack.broker import free_port
from devstack.cluster import Cluster
from devstack.local_keys import local_keys
from devstack.processes import ProcessGroup, inherited_environment
from devstack.services import APPS, REPO_ROOT, SERVICES, App, Service

logger = logging.getLogger(__name__)


@dataclass
class StackConfig:
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    database_prefix: str = ""
    postgres_url: str = field(
        default_factory=lambda: os.environ.get("POSTGRES_URL", postgres.DEFAULT_SERVER_URL)
    )
    # The services' ports, and the apps' (the console): an app runs only if it has a port here.
    ports: dict[str, int] = field(
        default_factory=lambda: {s.name: s.port for s in SERVICES} | {a.name: a.port for a in APPS}
    )
    web_workers: int = 2
    web_threads: int = 4
    # Worker processes per service: 1 is "<service>-worker"; N > 1 are "<service>-worker-1" .. "-N",
    # each its own consumer group member, metrics port and heartbeat file, on topics of at least N
    # partitions (KAFKA_TOPIC_PARTITIONS). Several are safe: the relay takes an advisory lock, the
    # consumers share their group, the deadline sweep skips locked rows.
    workers: int = 1
    run_dir: Path = REPO_ROOT / ".run"
    # Where a Kafka the stack starts keeps its log: kept across starts (make up: every message of a
    # stopped stack is still there at the next start), or None for a fresh broker (tests, benchmarks,
    # chaos: their databases are fresh too, and old messages would be foreign to them).
    broker_data: Path | None = None
    # Apache Kafka nodes to start (kafka_bootstrap then lists one address per node): 3 is a cluster as
    # the prod overlay runs it (devstack.cluster)
    brokers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    # JWT_SIGNING_KEY and DJANGO_SECRET_KEY: the processes run without debug mode, where the
    # development keys are refused, so they get this checkout's (devstack.local_keys).
    keys: dict[str, str] = field(default_factory=local_keys)
    # Prometheus on this port (0: none), scraping every process's metrics port with the repository's
    # rules (devstack.prometheus): make up runs it on 9090; a test asks for it on a free port.
    prometheus_port: int = 0
    scrape_interval: float = 5.0  # seconds; the rules are evaluated as often
    # Jaeger on these ports (None: none), started before every other process, which then exports its
    # spans there (OTEL_EXPORTER_OTLP_ENDPOINT): make up TRACING=1 (devstack.jaeger).
    tracing: jaeger.JaegerPorts | None = None

    def database_name(self, service: Service) -> str:
        return f"{self.database_prefix}{service.name}"

    def database_url(self, service: Service) -> str:
        return f"{self.postgres_url}/{self.database_name(service)}"

    def database_urls(self) -> dict[str, str]:
        """Every service's database URL, by service name."""
        return {s.name: self.database_url(s) for s in SERVICES}

    def worker_instances(self) -> list[str]:
        """The ``instance`` of each worker process a service runs (start_worker): "" for the one worker,
        or "1" .. "N"."""
        return [""] if self.workers == 1 else [str(number) for number in range(1, self.workers + 1)]

    def topic_replication(self) -> dict[str, str]:
        """Three brokers or more: topics on three replicas, two in sync for a write (as the cluster's own
        topics, kafka.replication_settings, and the prod overlay)."""
        if self.brokers < 3:
            return {}
        return {"KAFKA_TOPIC_REPLICATION_FACTOR": "3", "KAFKA_TOPIC_MIN_INSYNC_REPLICAS": "2"}

    def topic_partitions(self) -> dict[str, str]:
        """KAFKA_TOPIC_PARTITIONS for N > 1 workers: at least N (a consumer without a partition idles),
        at least 3 (the default), or more if this shell's environment asks for more."""
        if self.workers == 1:
            return {}
        inherited = int(os.environ.get("KAFKA_TOPIC_PARTITIONS", "3"))
        return {"KAFKA_TOPIC_PARTITIONS": str(max(3, inherited, self.workers))}


class Stack:
    """Prepare and run the system; ``echo`` streams the prefixed logs to stdout."""

    def __init__(self, config: StackConfig | None = None, *, echo: bool = True) -> None:
        self.config = config or StackConfig()
        self.processes = ProcessGroup(echo=echo, log_dir=self.config.run_dir / "logs")
        self._broker: subprocess.Popen[bytes] | None = None
        self.cluster: Cluster | None = None  # the nodes it started, with config.brokers > 1
        self.metrics_ports: dict[str, int] = {}  # process name -> its Prometheus port

    # --- preparation -------------------------------------------------------------------------

    def prepare(self) -> None:
        """PostgreSQL up, databases created and migrated, broker up, topics created."""
        postgres.ensure_server(f"{self.config.postgres_url}/postgres")
        postgres.ensure_databases(
            [self.config.database_name(s) for s in SERVICES], f"{self.config.postgres_url}/postgres"
        )
        self.ensure_broker()
        with ThreadPoolExecutor(len(SERVICES)) as pool:
            list(pool.map(lambda s: self.manage(s, "migrate", "--noinput", "-v", "0"), SERVICES))
        # As the broker's administrator: the services' own users may not create topics, nor grant.
        self.manage(SERVICES[0], "create_topics", as_admin=True)
        if broker_auth.enabled():
            self.manage(SERVICES[0], "grant_broker_access", "-v", "0", as_admin=True)

    def ensure_broker(self) -> None:
        addresses = self.config.kafka_bootstrap.split(",")
        if all(broker.broker_answers(address) for address in addresses):
            logger.info("using the broker at %s", self.config.kafka_bootstrap)
            return
        if any(a.rpartition(":")[0] not in ("127.0.0.1", "localhost") for a in addresses):
            raise RuntimeError(f"no broker answers at {self.config.kafka_bootstrap}")
        ports = [int(a.rpartition(":")[2]) for a in addresses]
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        if self.config.brokers > 1:
            if broker_kind.kind() != "kafka":
                raise RuntimeError("BROKERS > 1 runs Apache Kafka nodes: not with BROKER=tansu")
            if len(ports) != self.config.brokers:
                raise RuntimeError(f"{self.config.brokers} brokers need as many addresses: {addresses}")
            logger.info("starting %s nodes of %s on ports %s", len(ports), broker.describe(), ports)
            data_root = self.config.broker_data or self.config.run_dir / f"kafka-cluster-{ports[0]}"
            self.cluster = Cluster.on_ports(ports, data_root, self.config.run_dir)
            self.cluster.start()
            return
        logger.info("starting %s on port %s", broker.describe(), ports[0])
        self._broker = broker.start_broker(
            ports[0], self.config.run_dir / "broker.log", self.config.broker_data
        )

    def manage(self, service: Service, *args: str, as_admin: bool = False) -> None:
        """``manage.py`` of ``service``; ``as_admin``: with the broker administrator's credentials (and the
        services' passwords, which grant_broker_access sets) instead of the service's own."""
        env = self.env(service) | (broker_auth.grant_environment() if as_admin else {})
        subprocess.run(
            [sys.executable, str(service.manage_py), *args], cwd=service.directory, env=env, check=True
        )

    def env(self, service: Service) -> dict[str, str]:
        return {
            **broker_kind.client_settings(),
            **inherited_environment(),
            **self.config.keys,
            "DATABASE_URL": self.config.database_url(service),
            "KAFKA_BOOTSTRAP_SERVERS": self.config.kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": self.config.topic_prefix,
            **broker_auth.service_environment(service.name),  # its own user, not the admin's
            # Readable lines in a terminal; deployments keep the default, JSON.
            "LOG_FORMAT": os.environ.get("LOG_FORMAT", "plain"),
            # A crash in native code (librdkafka, psycopg2) prints every thread's Python stack.
            "PYTHONFAULTHANDLER": "1",
            **self.config.topic_partitions(),
            **self.config.topic_replication(),
            **self.config.extra_env,
        }

    # --- running -----------------------------------------------------------------------------

    def start(self) -> None:
        if self.config.tracing is not None:
            self.start_jaeger(self.config.tracing)
        for service in SERVICES:
            self.start_web(service)
            for instance in self.config.worker_instances():
                self.start_worker(service, instance=instance)
        for app in self.apps:
            self.start_app(app)
        if self.config.prometheus_port:
            self.start_prometheus()

    def start_prometheus(self) -> None:
        """Prometheus, with .run/prometheus/prometheus.yml naming every process started so far."""
        directory = self.config.run_dir / "prometheus"
        prometheus.write_config(directory, self.metrics_ports, interval=self.config.scrape_interval)
        self.processes.start(
            "prometheus", prometheus.command(directory, self.config.prometheus_port), env={}, cwd=directory
        )

    def start_jaeger(self, ports: jaeger.JaegerPorts) -> None:
        """Jaeger first, so that no process's first spans go nowhere; every process started after it
        exports there (their spans are batched and sent over OTLP/HTTP)."""
        directory = self.config.run_dir / "jaeger"
        process = self.processes.start("jaeger", jaeger.command(directory, ports), env={}, cwd=directory)
        jaeger.wait_ready(ports, running=lambda: process.popen.poll() is None)
        self.config.extra_env.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", ports.otlp_endpoint)

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.config.prometheus_port}"

    @property
    def apps(self) -> list[App]:
        return [app for app in APPS if app.name in self.config.ports]

    def start_app(self, app: App) -> None:
        """The console: gunicorn like the webs, pointed at this stack's APIs, with development sign-in
        (it mints tokens with this checkout's key, which the services accept). Its metrics (console.metrics)
        get a port of their own, as the webs' do."""
        self.metrics_ports[f"{app.name}-web"] = free_port()
        env = {
            **inherited_environment(),
            **self.config.keys,
            **{f"{s.name.upper()}_API_URL": self.url(s.name) for s in SERVICES},
            "CONSOLE_DEV_SIGN_IN": "1",
            "METRICS_PORT": str(self.metrics_ports[f"{app.name}-web"]),
            "LOG_FORMAT": os.environ.get("LOG_FORMAT", "plain"),
            **self.config.extra_env,
        }
        self.processes.start(
            f"{app.name}-web",
            gunicorn_command(app.module, self.config.ports[app.name], workers=1, threads=8),
            env=env,
            cwd=app.directory,
        )

    def start_web(self, service: Service) -> None:
        """gunicorn, as the images run it (saga_common.web.gunicorn_conf). Its metrics get a port of their
        own if it runs one worker process; with more, none (each would count only its requests)."""
        name = f"{service.name}-web"
        port = self.config.ports[service.name]
        env = {**self.env(service), "METRICS_PORT": "0"}
        if self.config.web_workers == 1:
            self.metrics_ports[name] = free_port()
            env["METRICS_PORT"] = str(self.metrics_ports[name])
        self.processes.start(
            name,
            gunicorn_command(
                service.module, port, workers=self.config.web_workers, threads=self.config.web_threads
            ),
            env=env,
            cwd=service.directory,
        )

    def start_worker(
        self,
        service: Service,
        *,
        extra_env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        instance: str = "",
    ) -> None:
        """Start the service's worker (relay, consumer, housekeeping); ``args`` e.g. ("--only", "relay");
        ``instance`` names a further worker of the same service (its own consumer group member)."""
        name = worker_name(service, args, instance)
        self.metrics_ports[name] = free_port()
        self.processes.start(
            name,
            [sys.executable, str(service.manage_py), "run_worker", *args],
            # One static group member per worker name: a restarted worker rejoins at once.
            env={
                **self.env(service),
                "KAFKA_GROUP_INSTANCE_ID": name,
                "WORKER_HEARTBEAT_FILE": str(self.heartbeat_file(name)),
                "METRICS_PORT": str(self.metrics_ports[name]),
                **(extra_env or {}),
            },
            cwd=service.directory,
        )

    def heartbeat_file(self, worker_name: str) -> Path:
        """The file a worker touches while all of its loops run (its liveness signal)."""
        return self.config.run_dir / f"{worker_name}.heartbeat"

    @property
    def broker_pid(self) -> int | None:
        """The broker this stack started itself (None if it uses one that was already running)."""
        return self._broker.pid if self._broker is not None else None

    def url(self, service_name: str) -> str:
        return f"http://127.0.0.1:{self.config.ports[service_name]}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every service answers /healthz/ready; fail early if a process died."""
        deadline = time.monotonic() + timeout
        pending = [s.name for s in SERVICES] + [app.name for app in self.apps]
        while pending:
            exited = self.processes.first_exited()
            if exited is not None:
                raise RuntimeError(f"{exited.name} exited with {exited.popen.returncode} during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout}s: {pending}")
            pending = [name for name in pending if not _ready(self.url(name))]
            if not pending and self.config.prometheus_port and not prometheus.ready(self.prometheus_url):
                pending = ["prometheus"]
            time.sleep(0.2)

    def stop(self) -> None:
        self.processes.stop_all()
        if self._broker is not None:
            broker.stop_broker(self._broker)
            self._broker = None
        if self.cluster is not None:
            self.cluster.stop()
            if self.config.broker_data is None:  # a cluster of its own, for this run only
                shutil.rmtree(self.cluster.nodes[0].data_dir.parent, ignore_errors=True)
            self.cluster = None


def worker_name(service: Service, args: tuple[str, ...] = (), instance: str = "") -> str:
    """e.g. orders-worker, orders-worker-relay (args ("--only", "relay")), orchestrator-worker-2."""
    return f"{service.name}-worker" + (f"-{args[-1]}" if args else "") + (f"-{instance}" if instance else "")


@contextmanager
def running_stack(config: StackConfig) -> Iterator[Stack]:
    """A stack on fresh databases (dropped first), prepared, started and ready; stopped on leaving.
    The system test suites' fixtures each run one with their own settings."""
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


def gunicorn_command(module: str, port: int, *, workers: int, threads: int) -> list[str]:
    """gunicorn as the images run it (saga_common.web.gunicorn_conf), with a readable access line when
    LOG_FORMAT=plain (the request line, so the query string keeps its "?"); JSON lines otherwise."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        f"{module}.wsgi",
        "--config",
        "python:saga_common.web.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--graceful-timeout",
        "10",
        "--no-control-socket",
        "--access-logfile",
        "-",
        "--access-logformat",
        "%(r)s %(s)s %(M)sms",
    ]


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False
