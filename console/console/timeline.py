"""A saga's steps as an operator reads them: what happened, and while a step waits, on whom and until when."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.display import seconds

WAITING = {"STARTED", "RETRY_WAIT"}


@dataclass(frozen=True)
class StepRow:
    name: str
    kind: str
    status: str
    attempts: str
    started_at: datetime | None
    finished_at: datetime | None
    duration: str
    command_type: str
    reply_type: str
    deadline_at: datetime | None
    waiting: str  # "waiting on payments for 12 s, attempt 2 of 5, next try at 10:31:02"; empty when not


def step_rows(steps: list[Any], now: datetime) -> list[StepRow]:
    return [step_row(step, now) for step in steps]


def step_row(step: Any, now: datetime) -> StepRow:
    waiting = ""
    if step.status in WAITING and step.started_at is not None:
        waiting = (
            f"waiting on {step.participant} for {seconds(step.started_at, now)}, "
            f"attempt {step.attempts} of {step.max_attempts}"
        )
        if step.deadline_at is not None:
            what = "next try" if step.attempts < step.max_attempts else "gives up"
            waiting += f", {what} at {step.deadline_at:%H:%M:%S} UTC"
    return StepRow(
        name=step.name,
        kind=step.kind,
        status=step.status,
        attempts=f"{step.attempts} of {step.max_attempts}",
        started_at=step.started_at,
        finished_at=step.finished_at,
        duration=seconds(step.started_at, step.finished_at or (now if step.status in WAITING else None)),
        command_type=step.command_type or "",
        reply_type=step.reply_type or "",
        deadline_at=step.deadline_at,
        waiting=waiting,
    )
