"""The chaos suite: real processes under a steady load of orders, faults on a seeded schedule, then
heal, wait for quiescence, and check every invariant.

    python -m e2e.chaos --orders 2000 --rate 15 --seed 1 [--profile give-up]     (make chaos)

Exits 0 only if no invariant is violated and every scheduled fault fired. The profiles (which faults,
which settings) are in ``e2e.profiles``.
"""

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from devstack import postgres
from devstack.broker import exit_on_sigterm, free_port
from devstack.services import REPO_ROOT, SERVICES
from devstack.stack import Stack, StackConfig
from e2e.after_sale import AfterSale
from e2e.checker import Report, check_late_commands, check_system, walked_paths
from e2e.client import SystemClient
from e2e.faults import ChaosContext
from e2e.load import OrderLoad
from e2e.operators import OperatorActions
from e2e.profiles import PROFILES, Profile

# Which participant answers each step: a give-up on a step is excused only while a fault had that
# participant's worker stopped.
STEP_PARTICIPANTS = {
    "authorize_payment": "payments",
    "void_payment": "payments",
    "capture_payment": "payments",
    "refund_payment": "payments",
    "schedule_shipment": "shipping",
    "schedule_held_shipment": "shipping",
    "cancel_shipment": "shipping",
    "release_shipment": "shipping",
    "approve_order": "orders",
    "reject_order": "orders",
    "confirm_cancellation": "orders",
    "refuse_cancellation": "orders",
}


@dataclass
class ChaosSettings:
    orders: int = 200
    rate: float = 20.0
    seed: int = 1
    full: bool = False  # every crash point in every service (the long run) or one of each kind
    profile: str = "default"
    quiesce_timeout: float = 300.0
    run_dir: Path = REPO_ROOT / ".run" / "chaos"


class ChaosRun:
    def __init__(self, settings: ChaosSettings, bootstrap: str | None = None) -> None:
        self.settings = settings
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        self.profile: Profile = PROFILES[settings.profile]
        run_id = uuid.uuid4().hex[:8]
        brokers = self.profile.brokers
        self.config = StackConfig(
            # Its own broker (unless given one): the broker is one of the things paused.
            kafka_bootstrap=bootstrap or ",".join(f"127.0.0.1:{free_port()}" for _ in range(brokers)),
            brokers=brokers,
            topic_prefix=f"chaos-{run_id}.",
            database_prefix="chaos_",
            ports={s.name: free_port() for s in SERVICES},
            web_workers=1,
            run_dir=settings.run_dir,
            extra_env=self.profile.env,
        )
        self.stack = Stack(self.config, echo=False)
        self.fault_log = settings.run_dir / f"faults-{run_id}.log"
        # Processes found exited that no fault stopped: a record or fault that stops a worker for good.
        self.unexpected_exits: list[str] = []

    def run(self, log: Callable[[str], None]) -> Report:
        admin = f"{self.config.postgres_url}/postgres"
        postgres.ensure_server(admin)
        postgres.drop_databases([self.config.database_name(s) for s in SERVICES], admin)
        try:
            self.stack.prepare()
            self.stack.start()
            self.stack.start_worker(SERVICES[0], args=("--only", "relay"))  # a second, standby relay
            for number in range(2, self.profile.orchestrator_workers + 1):
                self.stack.start_worker(SERVICES[-1], instance=str(number))
            self.stack.wait_ready()
            return self._run_loaded(log)
        finally:
            self.stack.stop()

    def _run_loaded(self, log: Callable[[str], None]) -> Report:
        client = SystemClient({s.name: self.stack.url(s.name) for s in SERVICES})
        load = OrderLoad(
            client, orders=self.settings.orders, rate=self.settings.rate, seed=self.settings.seed
        )
        load.prepare()
        context = ChaosContext(self.stack, self.fault_log, acknowledged=lambda: len(load.result.acknowledged))
        operators = OperatorActions(client, seed=self.settings.seed) if self.profile.operators else None
        after_sale = AfterSale(client, load.result.acknowledged, seed=self.settings.seed)
        faults = self.profile.schedule(random.Random(self.settings.seed), self.settings.full)
        fired: dict[str, list[int]] = {}
        stop = threading.Event()
        died: list[str] = []  # a driver thread that raised: the run did not do what it reports
        threads = [
            _driver(load.run, stop, died, name="load"),
            _driver(after_sale.run, stop, died, name="after-sale"),
        ]
        if operators is not None:
            threads.append(_driver(operators.run, stop, died, name="operators"))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        # Spread the faults over the load (which must outlast them: a crash point needs traffic).
        duration = self.settings.orders / self.settings.rate
        first, last = 5.0, duration * 0.85
        step = (last - first) / max(1, len(faults) - 1)
        for number, fault in enumerate(faults):
            time.sleep(max(0.0, started + first + number * step - time.monotonic()))
            ok = fault.inject(context)
            counts = fired.setdefault(fault.kind, [0, 0])
            counts[0] += 1
            counts[1] += ok
            log(f"{time.monotonic() - started:6.1f}s  {'fired ' if ok else 'MISSED'}  {fault.describe()}")
        while load.offered < self.settings.orders and not died:  # a dead load offers no more
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join()
        acknowledged = len(load.result.acknowledged)
        log(f"{time.monotonic() - started:6.1f}s  load done: {acknowledged} orders acknowledged")
        self._wait_quiescent(log, operators)
        log(f"{time.monotonic() - started:6.1f}s  quiescent; checking")
        report = check_system(
            self.config.database_urls(),
            self.config.kafka_bootstrap,
            self.config.topic_prefix,
            load.result,
            after_sale.result,
            context.poison_sent,
            excused=self._excused(context),
            oversized=frozenset(context.oversized),
        )
        report.violations += self.unexpected_exits
        report.violations += died
        report.outages = context.outages
        report.broker_recoveries = context.broker_recoveries
        report.faults = fired
        report.absorbed = _duplicates_absorbed(self.config.run_dir / "logs")
        report.paths = walked_paths(self.config.database_urls()["orchestrator"])
        if context.late_commands:
            report.violations += check_late_commands(
                self.config.kafka_bootstrap, self.config.topic_prefix, context.late_commands, report
            )
        if operators is not None:
            report.operators = dict(operators.outcomes)
            report.violations += operators.violations
        return report

    def _excused(self, context: ChaosContext) -> Callable[[str, datetime], bool]:
        """A give-up on ``step`` at ``at`` is the fault's doing if the step's participant was stopped
        from before ``at`` until no longer than the give-up time plus its recovery before it: a
        participant resumed after a stop first rejoins its consumer group (its session expired) and
        then works through the backlog its stop left (every saga's commands, each sent up to three
        times). That took up to about 10 s in November; on 2026-12-03, at this code's lower throughput
        (README, "Measured"), payments answered up to 23 s after a 12 s stop, and two CI runs found
        give-ups 21 s after it that the stop had caused. 30 s covers that; the throughput issue should
        bring it back down."""
        slack = timedelta(seconds=self.profile.give_up_after + 30.0)

        def excused(step: str, at: datetime) -> bool:
            service = STEP_PARTICIPANTS.get(step)
            return any(s == service and begun <= at <= ended + slack for s, begun, ended in context.stopped)

        return excused

    def _wait_quiescent(self, log: Callable[[str], None], operators: OperatorActions | None) -> None:
        """Every process running, every saga ended, every outbox published, or the timeout. With
        operators, a FAILED saga is retried (as an operator ends an incident) until none is left."""
        from e2e.invariants import snapshot

        for process in list(self.stack.processes.processes.values()):
            if not process.running:  # every fault restarts what it stopped: this one stopped by itself
                log(f"restarting {process.name} (exit {process.popen.returncode})")
                self.unexpected_exits.append(f"{process.name} exited by itself ({process.popen.returncode})")
                name, _, role = process.name.partition("-")
                service = next(s for s in SERVICES if s.name == name)
                if role == "web":
                    self.stack.start_web(service)
                elif role == "worker-relay":
                    self.stack.start_worker(service, args=("--only", "relay"))
                else:
                    self.stack.start_worker(service, instance=role.removeprefix("worker").lstrip("-"))
        urls = self.config.database_urls()
        deadline = time.monotonic() + self.settings.quiesce_timeout
        while time.monotonic() < deadline:
            state = snapshot(urls)
            running = sum(s["state"] in ("RUNNING", "COMPENSATING") for s in state.sagas)
            failed = sum(s["state"] == "FAILED" for s in state.sagas)
            pending = sum(o["status"] in ("PENDING", "CANCELLING") for o in state.orders)
            if failed and operators is not None:
                log(f"operator retries {operators.heal()} FAILED sagas")
            elif not running and not pending and not any(state.unpublished.values()):
                return
            time.sleep(1.0)
        log("quiescence timed out; checking anyway")


def _driver(
    run: Callable[[threading.Event], object], stop: threading.Event, died: list[str], *, name: str
) -> threading.Thread:
    """A thread driving the run (the load, the after-sale actions, the operators); if it raises, the
    run names it as a violation rather than reporting what it never did."""

    def guarded() -> None:
        try:
            run(stop)
        except Exception as exc:
            died.append(f"the {name} thread died: {type(exc).__name__}: {exc}")
            raise  # and threading's excepthook prints the traceback

    return threading.Thread(target=guarded, name=name)


def _duplicates_absorbed(log_dir: Path) -> dict[str, int]:
    """Redeliveries each service's inbox dropped (it logs each one), from the workers' logs."""
    return {
        s.name: sum(
            " ignored" in line and "duplicate " in line
            for log in log_dir.glob(f"{s.name}-worker*.log")
            for line in log.read_text(errors="replace").splitlines()
        )
        for s in SERVICES
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="orders offered per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--short", action="store_true", help="one fault of each kind instead of all of them")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    exit_on_sigterm()  # a stopped run still stops its processes and brokers (the JVMs run apart)
    settings = ChaosSettings(
        orders=args.orders, rate=args.rate, seed=args.seed, full=not args.short, profile=args.profile
    )
    report = ChaosRun(settings).run(lambda line: print(line, flush=True))
    print(report.table())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"settings": vars(args) | {"json": str(args.json)}, **report.as_dict()}, indent=2)
        )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
