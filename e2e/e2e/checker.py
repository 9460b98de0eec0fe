"""The chaos suite's invariant checker: every invariant of docs/contract.md over the four databases, plus
what only the topics can tell (see ``check_messages``). ``Report.table`` prints the summary."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from e2e.after_sale import AfterSaleResult, check_after_sale
from e2e.invariants import Excused, check, check_intents, snapshot
from e2e.load import APPROVE, LoadResult
from e2e.topics import RawMessage, read_all

# The topics each service consumes (docs/contract.md, "Kafka topics and messages").
CONSUMES = {
    "orders": ["orders.commands"],
    "payments": ["payments.commands"],
    "shipping": ["shipping.commands"],
    "orchestrator": ["orders.events", "orchestrator.replies"],
}


@dataclass
class Report:
    sagas: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    faults: dict[str, list[int]] = field(default_factory=dict)  # kind -> [scheduled, fired]
    load: dict[str, int] = field(default_factory=dict)
    inboxes: dict[str, int] = field(default_factory=dict)
    redelivered: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    absorbed: dict[str, int] = field(default_factory=dict)  # redeliveries the inboxes dropped
    paths: dict[str, int] = field(default_factory=dict)  # what the sagas went through (walked_paths)
    operators: dict[str, int] = field(default_factory=dict)  # operator actions and their outcomes
    after_sale: dict[str, int] = field(default_factory=dict)  # cancellations and dispatches (e2e.after_sale)
    late_commands: dict[str, int] = field(default_factory=dict)  # replies to commands re-sent late
    outages: list[dict[str, Any]] = field(default_factory=list)  # what each web answered, database down
    broker_recoveries: list[dict[str, Any]] = field(default_factory=list)  # e2e.broker_faults' timings
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and all(fired == scheduled for scheduled, fired in self.faults.values())

    def table(self) -> str:
        rows = [("sagas", str(sum(self.sagas.values())), _counts(self.sagas))]
        rows += [(f"  {kind} orders", str(sum(c.values())), _counts(c)) for kind, c in self.outcomes.items()]
        rows += [("load", str(self.load.get("acknowledged", 0)), _counts(Counter(self.load)))]
        rows += [(f"inbox {name}", str(n), "distinct messages handled") for name, n in self.inboxes.items()]
        rows += [
            ("copies on topics", str(sum(self.redelivered.values())), _counts(Counter(self.redelivered)))
        ]
        rows += [("inbox dropped", str(sum(self.absorbed.values())), _counts(Counter(self.absorbed)))]
        rows += [("dead letters", str(sum(self.dead_letters.values())), _counts(Counter(self.dead_letters)))]
        rows += [
            (f"fault: {kind}", f"{fired}/{scheduled}", "fired/scheduled")
            for kind, (scheduled, fired) in self.faults.items()
        ]
        rows += [(f"path: {name}", str(n), "") for name, n in self.paths.items()]
        rows += [(f"operator: {name}", str(n), "") for name, n in sorted(self.operators.items())]
        rows += [(f"after sale: {name}", str(n), "") for name, n in sorted(self.after_sale.items())]
        rows += [(f"late command: {name}", str(n), "reply") for name, n in sorted(self.late_commands.items())]
        rows += [
            (f"recovery: {r['fault']}", "", "  ".join(f"{k} {v}" for k, v in r.items() if k != "fault"))
            for r in self.broker_recoveries
        ]
        rows += [("violations", str(len(self.violations)), "; ".join(self.violations[:5]))]
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"{name:<{width}}  {value:>9}  {detail}" for name, value, detail in rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sagas": dict(self.sagas),
            "outcomes": {k: dict(v) for k, v in self.outcomes.items()},
            "faults": {k: {"scheduled": s, "fired": f} for k, (s, f) in self.faults.items()},
            "load": self.load,
            "inboxes": self.inboxes,
            "redelivered": self.redelivered,
            "dead_letters": self.dead_letters,
            "inbox_dropped_redeliveries": self.absorbed,
            "paths": self.paths,
            "operators": self.operators,
            "after_sale": self.after_sale,
            "late_commands": self.late_commands,
            "database_outages": self.outages,
            "broker_recoveries": self.broker_recoveries,
            "violations": self.violations,
            "ok": self.ok,
        }


def _counts(counter: Counter[str]) -> str:
    return "  ".join(f"{key} {value}" for key, value in sorted(counter.items()))


def check_system(
    database_urls: dict[str, str],
    bootstrap: str,
    topic_prefix: str,
    load: LoadResult,
    after_sale: AfterSaleResult,
    poison_sent: list[RawMessage],
    excused: Excused = lambda step, at: False,
    oversized: frozenset[bytes] = frozenset(),
) -> Report:
    """Check everything; ``excused(step, at)`` says whether a give-up on ``step`` at ``at`` was caused
    by an injected fault (a participant stopped), which alone may turn an approvable order down."""
    report = Report()
    state = snapshot(database_urls)
    report.violations += check(state)
    report.sagas = Counter(f"{s['saga_type']} v{s['version']} {s['state']}" for s in state.sagas)
    status_of = {order["id"]: order["status"] for order in state.orders}
    for order_id, kind in load.acknowledged.items():
        status = status_of.get(order_id, "LOST")
        report.outcomes.setdefault(kind, Counter())[status] += 1
        if status == "LOST":
            report.violations.append(f"acknowledged order {order_id} is lost")
    intended = {order_id: kind == APPROVE for order_id, kind in load.acknowledged.items()}
    report.violations += check_intents(state, intended, excused)
    shipment_of = {shipment["order_id"]: shipment["status"] for shipment in state.shipments}
    report.violations += check_after_sale(status_of, shipment_of, after_sale)
    report.after_sale = {
        **{f"asked: {kind}": n for kind, n in Counter(after_sale.intended.values()).items()},
        **after_sale.outcomes,
    }
    report.load = {
        "acknowledged": len(load.acknowledged),
        "unacknowledged": load.unacknowledged,
        "client retries": load.retries,
    }
    topics = {
        base: read_all(bootstrap, f"{topic_prefix}{base}") for bases in CONSUMES.values() for base in bases
    }
    report.violations += check_messages(database_urls, topics, report)
    report.violations += check_dead_letters(bootstrap, topic_prefix, poison_sent, report, oversized)
    report.violations += check_dead_letter_rows(database_urls, poison_sent)
    return report


def check_messages(
    database_urls: dict[str, str], topics: dict[str, list[RawMessage]], report: Report
) -> list[str]:
    """Each service's inbox holds exactly the distinct message ids of the topics it consumes.

    (That no message took effect twice is checked on the effects themselves, in ``invariants``: the
    inbox's ``msg_id`` is unique, so counting its ids could never fail.)"""
    violations = []
    for service, bases in CONSUMES.items():
        ids = [_message_id(m) for base in bases for m in topics[base]]
        valid = [i for i in ids if i is not None]
        distinct = set(valid)
        report.inboxes[service] = len(distinct)
        report.redelivered[service] = len(valid) - len(distinct)
        with psycopg2.connect(database_urls[service]) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT msg_id FROM received")
            inbox = [row[0] for row in cursor.fetchall()]
        connection.close()
        if set(inbox) != distinct:
            missing, extra = len(distinct - set(inbox)), len(set(inbox) - distinct)
            violations.append(
                f"{service}'s inbox differs from its topics: {missing} unhandled, {extra} unknown"
            )
    return violations


def check_dead_letters(
    bootstrap: str,
    topic_prefix: str,
    poison_sent: list[RawMessage],
    report: Report,
    oversized: frozenset[bytes] = frozenset(),
) -> list[str]:
    """The dead-letter topics hold exactly the poison messages injected, nothing else. A poison value
    too large for its copy (``oversized``) is there trimmed: a reference with a ``dlq-trimmed`` header."""
    violations = []
    for base in sorted({base for bases in CONSUMES.values() for base in bases}):
        topic = f"{topic_prefix}{base}"
        copies = read_all(bootstrap, f"{topic}.dlq", idle=1.0, limit=10.0)
        trimmed = {m.header("dlq-source") for m in copies if m.header("dlq-trimmed") is not None}
        dead = Counter(m.value for m in copies if m.header("dlq-trimmed") is None)
        sent = Counter(m.value for m in poison_sent if m.topic == topic and m.value not in oversized)
        too_large = {m.value for m in poison_sent if m.topic == topic and m.value in oversized}
        report.dead_letters[f"{base}.dlq"] = len(copies)
        # A consumer killed after dead-lettering but before its offset commit dead-letters the same
        # message again (at-least-once, like any delivery): compare distinct messages.
        if set(dead) != set(sent):
            violations.append(f"{base}.dlq holds {len(set(dead))} distinct messages, {len(sent)} poison sent")
        if len(trimmed) != len(too_large):
            violations.append(
                f"{base}.dlq holds {len(trimmed)} trimmed copies, {len(too_large)} oversized sent"
            )
    return violations


def check_dead_letter_rows(database_urls: dict[str, str], poison_sent: list[RawMessage]) -> list[str]:
    """Every poison message is a PENDING dead letter in its consumer's database, byte for byte, and
    nothing else is: the rows, not the .dlq copies, are what an operator sees and acts on."""
    violations = []
    for service, bases in CONSUMES.items():
        with psycopg2.connect(database_urls[service]) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT topic, payload FROM saga_dead_letter WHERE status = 'PENDING'")
            kept = {(topic, bytes(payload or b"")) for topic, payload in cursor.fetchall()}
        connection.close()
        expected = {(m.topic, m.value) for m in poison_sent if any(m.topic.endswith(b) for b in bases)}
        if kept != expected:
            violations.append(
                f"{service}'s dead letters: {len(expected - kept)} poison messages not kept, "
                f"{len(kept - expected)} kept that were no poison"
            )
    return violations


def _message_id(message: RawMessage) -> str | None:
    return message.message_id


# What a give-up or a late success was about, by the step it names (see the saga engine's events).
# Per saga type (both versions of PlaceOrder); any other step a saga gives up on is a compensation.
BEFORE_PIVOT = {"place_order": ("authorize_payment", "schedule_shipment", "schedule_held_shipment")}
AT_OR_AFTER_PIVOT = {
    "place_order": ("capture_payment", "approve_order", "release_shipment"),
    "cancel_order": ("cancel_shipment", "refund_payment", "confirm_cancellation"),
}


def walked_paths(orchestrator_url: str) -> dict[str, int]:
    """How often the sagas went down each path an operator cares about, from their histories."""
    with psycopg2.connect(orchestrator_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.event, e.detail, s.saga_type FROM saga_event e"
            " JOIN saga_instance s ON s.id = e.saga_id WHERE e.event IN"
            " ('StepTimedOut', 'LateReplyCompensated', 'OperatorRetry', 'OperatorCompensate')"
        )
        events = cursor.fetchall()
    connection.close()
    paths: Counter[str] = Counter()
    for event, detail, saga_type in events:
        step = detail.replace(":", " ").split(" ")[0]
        if event == "StepTimedOut":
            where = (
                "before the pivot"
                if step in BEFORE_PIVOT.get(saga_type, ())
                else "at or after the pivot"
                if step in AT_OR_AFTER_PIVOT.get(saga_type, ())
                else "in compensation"
            )
            paths[f"{saga_type} gave up {where}"] += 1
        else:
            paths[f"{saga_type} {({'LateReplyCompensated': 'late success undone'}).get(event, event)}"] += 1
    return dict(sorted(paths.items()))


REFUSED_LATE = {"PaymentDeclined", "ShipmentRejected"}


def check_late_commands(bootstrap: str, topic_prefix: str, sent: list[str], report: Report) -> list[str]:
    """Every command re-sent after its saga was compensated was refused (a participant's tombstone or
    its voided payment / cancelled shipment), and answered."""
    late = set(sent)
    answered: dict[str, str] = {}  # late command id -> the type of its reply (copies count once)
    for message in read_all(bootstrap, f"{topic_prefix}orchestrator.replies", idle=1.0, limit=10.0):
        causation = message.header("ce_causationid")
        if causation in late:
            answered[causation] = str(message.message_type)
    answers = Counter(answered.values())
    report.late_commands = dict(answers)
    violations = [
        f"{n} late commands accepted: {kind}" for kind, n in answers.items() if kind not in REFUSED_LATE
    ]
    if sum(answers.values()) < len(late):
        violations.append(f"{len(late) - sum(answers.values())} of {len(late)} late commands got no answer")
    return violations
