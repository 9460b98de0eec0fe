"""The chaos run's profiles: which settings the services get, which processes run, which faults come.

- ``default``: every crash point, kill, database drop, broker pause, duplicates, stale replies and
  poison under load, with step timeouts generous enough that no step is ever given up. It proves
  that faults lose and duplicate nothing.
These two also restart PostgreSQL under load, run a worker with a skewed clock, and put hostile records
(timestamps out of range, near the size limit, keys and headers that are not text) on the topics.

- ``give-up``: short step timeouts, few attempts and two orchestrator workers; participants' workers
  are stopped for longer than a step's attempts, before and after the pivot, so sagas give up,
  compensate, undo late successes and stop FAILED; operators act at random moments through the REST
  API (compensating while the pivot is pending among them) and retry every FAILED saga at the end.

- ``brokers``: a three-node Apache Kafka cluster of its own (replication factor 3, two in sync for a
  write); partition leaders and the active controller killed and restarted, a node paused past its
  session, two of three nodes down for 20 s (e2e.broker_faults), with the default profile's settings.

In every profile customers cancel approved orders while the warehouse dispatches some, racing some
cancellations (e2e.after_sale). ``default`` and ``give-up`` start PlaceOrder sagas on version 1 and
roll version 2 out during the run (``SwitchSagaVersion``; the long give-up run rolls back to 1 too);
``brokers`` runs the newest version throughout.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

from devstack.services import SERVICES
from e2e.broker_faults import KillController, KillPartitionLeader, PauseNode, TwoNodesDown
from e2e.faults import (
    Crash,
    DropConnections,
    Duplicate,
    Fault,
    HostileRecords,
    Kill,
    LateCommands,
    PauseBroker,
    Poison,
    RestartPostgres,
    SkewedClock,
    StaleReplies,
    StopWorker,
)
from e2e.version_switch import SwitchSagaVersion
from saga_common.faults import CRASH_POINTS


@dataclass(frozen=True)
class Profile:
    name: str
    env: dict[str, str]
    schedule: Callable[[random.Random, bool], list[Fault]]  # (rng, full) -> the faults, in order
    orchestrator_workers: int = 1
    operators: bool = False  # operators act during the run and heal FAILED sagas at its end
    give_up_after: float = 0.0  # seconds from a step's first command to giving up on it
    brokers: int = 1  # Apache Kafka nodes of the run's own cluster (devstack.cluster)


def default_schedule(rng: random.Random, full: bool) -> list[Fault]:
    """Every kind at least once; with ``full``, every crash point in every service."""
    names = [s.name for s in SERVICES]
    if full:
        crashes: list[Fault] = [Crash(n, p, rng.randint(1, 8)) for n in names for p in CRASH_POINTS]
        kills: list[Fault] = [*(Kill(f"{n}-worker") for n in names), Kill("orders-web")]
        drops: list[Fault] = [DropConnections(n) for n in names]
    else:
        crashes = [
            Crash(n, p, rng.randint(1, 5)) for n, p in zip(rng.sample(names, 3), CRASH_POINTS, strict=True)
        ]
        kills = [Kill(f"{rng.choice(names)}-worker"), Kill("orders-web")]
        drops = [DropConnections(rng.choice(names))]
    others: list[Fault] = [
        PauseBroker(seconds=6.0),
        Duplicate("payments.commands", 20),
        Duplicate("orchestrator.replies", 20),
        StaleReplies(20, seed=rng.randint(0, 1 << 30)),
        Poison("payments.commands", 3),
        Poison("orchestrator.replies", 2),
        RestartPostgres(seconds=5.0),
        # The orchestrator judges deadlines by its clock: 3 s ahead, it resends a little early (a
        # timeout of 5 s is then 2 s); the participant's replies carry its clock's timestamps.
        SkewedClock("orchestrator", +3.0, hold=30.0 if full else 10.0),
        SkewedClock(rng.choice(["payments", "shipping", "orders"]), -3.0, hold=30.0 if full else 10.0),
        HostileRecords("payments.commands"),
        HostileRecords("orchestrator.replies"),
    ]
    faults = crashes + kills + drops + others
    rng.shuffle(faults)
    # the rollout of PlaceOrder v2 halfway: v1 sagas in flight finish on v1 among all the other faults
    return [*faults[: len(faults) // 2], SwitchSagaVersion(2), *faults[len(faults) // 2 :]]


# Giving up takes 1 + 2 + 2 = 5 s (three attempts, the wait doubling up to 2 s), and each deadline is
# judged only once the replies' partition is known handled past it, which lags by up to the progress
# margin and idle interval (1 s each) and a sweep: measured, 7 to 10 s in all. A stop of 12 s outlasts
# it; at 9 s a run could pass with no step given up after the pivot (seen with seed 3, the short run's).
GIVE_UP_ENV = {
    "SAGA_START_VERSIONS": "place_order=1",  # until the run's SwitchSagaVersion
    "KAFKA_DELIVERY_TIMEOUT_MS": "4000",
    "SAGA_STEP_TIMEOUT_SECONDS": "1",
    "SAGA_STEP_MAX_ATTEMPTS": "3",
    "SAGA_STEP_MAX_WAIT_SECONDS": "2",
    "SAGA_DEADLINE_SWEEP_SECONDS": "0.5",
}
STOP_SECONDS = 12.0


def give_up_schedule(rng: random.Random, full: bool) -> list[Fault]:
    """Participants stopped past their steps' attempts (payments: authorize before the pivot and
    capture at it; shipping before it; orders after it), duplicates and stale replies, with two
    orchestrator workers sharing the replies' partitions; late commands last, once compensated sagas
    exist.

    No orchestrator worker is stopped: Tansu, the development broker, then stalls the whole consumer
    group for minutes at times. The guard that keeps one worker's sweep from judging another's
    partitions is tested on its own (orchestrator/tests/test_deadline_guard.py).
    """
    rounds = 2 if full else 1
    faults: list[Fault] = []
    for _ in range(rounds):
        # Orders first and payments last: each stop needs sagas flowing into its steps, and payments,
        # the first step, takes longest to drain once resumed (it clogs what follows for a while).
        faults += [
            StopWorker("orders-worker", STOP_SECONDS),
            Duplicate("orchestrator.replies", 20),
            StopWorker("shipping-worker", STOP_SECONDS),
            # the rollout of PlaceOrder v2 (and, in the long run, back): sagas of both give up too
            SwitchSagaVersion(2 if len(faults) == 0 else 1),
            StaleReplies(20, seed=rng.randint(0, 1 << 30)),
            StopWorker("payments-worker", STOP_SECONDS),
        ]
    # A database outage stops every participant at once (excused like a stopped worker, see
    # e2e.chaos); the skewed clock is a participant's: an orchestrator 3 s off would shorten these 1 s
    # step timeouts below a participant's answer time, which no deployment should do.
    faults += [
        RestartPostgres(seconds=5.0),
        SkewedClock(
            rng.choice(["payments", "shipping"]), rng.choice([-3.0, +3.0]), hold=20.0 if full else 10.0
        ),
        HostileRecords("shipping.commands"),
        HostileRecords("orchestrator.replies"),
    ]
    return [*faults, LateCommands(20 * rounds, seed=rng.randint(0, 1 << 30))]


def brokers_schedule(rng: random.Random, full: bool) -> list[Fault]:
    """The cluster's faults (e2e.broker_faults), each twice in the long run, with duplicates between
    them; the two-nodes-down outage last, once the others have shown single-node failures absorbed."""
    rounds = 2 if full else 1
    faults: list[Fault] = []
    for number in range(rounds):
        faults += [
            KillPartitionLeader(partition=number % 3),
            Duplicate("payments.commands", 20),
            KillController(),
            PauseNode(partition=(number + 1) % 3),
        ]
    return [*faults, TwoNodesDown(seed=rng.randint(0, 1 << 30))]


# Generous step timeouts, as the default profile's: a node down must not make a saga give up.
DEFAULT_ENV = {
    "KAFKA_DELIVERY_TIMEOUT_MS": "4000",
    "SAGA_STEP_TIMEOUT_SECONDS": "5",
    "SAGA_STEP_MAX_ATTEMPTS": "8",
    "SAGA_STEP_MAX_WAIT_SECONDS": "30",
    "SAGA_DEADLINE_SWEEP_SECONDS": "0.5",
}

PROFILES = {
    "default": Profile(
        "default",
        # Short enough that a broker pause outlasts it (the relay then retries what timed out), and saga
        # steps that retry within the run; generous enough that no step is given up during a fault.
        # PlaceOrder starts on version 1 until the run switches to 2.
        {**DEFAULT_ENV, "SAGA_START_VERSIONS": "place_order=1"},
        default_schedule,
    ),
    "brokers": Profile("brokers", DEFAULT_ENV, brokers_schedule, brokers=3),
    "give-up": Profile(
        "give-up", GIVE_UP_ENV, give_up_schedule, orchestrator_workers=2, operators=True, give_up_after=5.0
    ),
}
