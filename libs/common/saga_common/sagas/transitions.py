"""What the saga rules answer (``Saga.first``, ``after_reply``, ``after_give_up``): the next commands to
send, a wait for other branches, or the end; and the states and outcomes they are decided on."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class SagaState(StrEnum):
    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    FAILED = "FAILED"


class ActionKind(StrEnum):
    FORWARD = "FORWARD"
    COMPENSATION = "COMPENSATION"
    FINAL = "FINAL"  # the command sent once compensation is done (e.g. RejectOrder)


class Outcome(StrEnum):
    """What became of a forward step the saga sent: the rules' view of the saga's progress."""

    PENDING = "PENDING"  # sent, not answered yet
    SUCCEEDED = "SUCCEEDED"
    REFUSED = "REFUSED"  # answered no: it took no effect
    UNKNOWN = "UNKNOWN"  # given up on, or abandoned: it may have taken effect


# Forward step index -> its outcome, for the steps sent so far. A step the rules find missing is taken
# to have succeeded: every step of an earlier group did, or the saga would not have gone on.
Progress = Mapping[int, Outcome]


@dataclass(frozen=True)
class Invoke:
    """Next: send the commands of these actions (several: a parallel group); the saga is then in
    ``state``."""

    kind: ActionKind
    indexes: tuple[int, ...]
    state: SagaState


@dataclass(frozen=True)
class Wait:
    """Next: nothing to send; other branches of the step's parallel group are still to answer."""

    state: SagaState = SagaState.RUNNING


@dataclass(frozen=True)
class Finish:
    """Next: nothing more to send; the saga ends in ``state``."""

    state: SagaState


Transition = Invoke | Wait | Finish
