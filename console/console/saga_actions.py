"""Which of Retry and Compensate a saga's page offers, and why not the others.

The orchestrator decides (``saga_common.sagas.operator_actions``) and refuses with a 409, which the page
shows, whatever a saga's state does not allow. The page offers only what it would accept, as far as
the saga's state and steps tell, so that an operator is not invited to press what cannot work:

- Retry sends again the step a FAILED saga stopped at. A RUNNING or COMPENSATING saga is moving already
  (the orchestrator would change nothing), and a COMPLETED or COMPENSATED one has nothing to retry.
- Compensate undoes a RUNNING saga that has not sent its pivot, or resumes the compensation of a FAILED
  saga that stopped while compensating. A FAILED saga that stopped at a forward step stopped at its
  pivot or after it, which may have taken effect: it can only go forward. Whether a RUNNING saga has
  sent its pivot the page tells from its definition (``GET /api/v1/sagas/definitions`` names the
  pivot); without it, Compensate is offered, and the orchestrator's refusal shown if it has.
"""

from dataclasses import dataclass

from saga_client.models import Saga

STOPPED = ("FAILED", "TIMED_OUT")  # a step the saga gave up at (saga_common.sagas.run.STOPPED_STATUSES)

NEITHER = "Retry and Compensate are not offered: "
ENDED = {
    "COMPLETED": "this saga COMPLETED. Nothing is left to retry, and past its pivot it cannot be undone.",
    "COMPENSATED": "this saga was COMPENSATED: what it did is undone, and nothing is left to retry.",
    "COMPENSATING": "this saga is COMPENSATING already; the orchestrator undoes its steps by itself.",
}


@dataclass(frozen=True)
class Offer:
    retry: bool
    compensate: bool
    not_offered: str  # why the actions not offered are not (empty when both are)
    hint: str = ""  # what an offered action will do, where the page cannot be sure it is accepted


RUNNING_NO_RETRY = (
    "Retry is not offered: this saga is RUNNING, and its steps are asked again by themselves; Retry is "
    "for a FAILED saga."
)


def offer(saga: Saga, pivot: str | None = None) -> Offer:
    """What the page offers for ``saga``; ``pivot`` is its definition's pivot step (None: not known)."""
    if saga.state == "FAILED":
        return _failed(saga)
    if saga.state == "RUNNING":
        if pivot is not None and any(s.kind == "FORWARD" and s.name == pivot for s in saga.steps):
            return Offer(
                retry=False,
                compensate=False,
                not_offered=NEITHER + f"this saga is RUNNING and has sent its pivot, {pivot}, which may "
                "already have taken effect: it can only go forward.",
            )
        return Offer(
            retry=False,
            compensate=True,
            not_offered=RUNNING_NO_RETRY,
            hint="Compensate abandons this saga and undoes its steps, unless it has sent its pivot"
            + (f" ({pivot})" if pivot else "")
            + ": then the orchestrator refuses, and it can only go forward.",
        )
    why = ENDED.get(
        saga.state, f"the orchestrator offers them for RUNNING and FAILED sagas only, not {saga.state}."
    )
    return Offer(retry=False, compensate=False, not_offered=NEITHER + why)


def _failed(saga: Saga) -> Offer:
    stopped = next((step for step in reversed(saga.steps) if step.status in STOPPED), None)
    if stopped is None:
        return Offer(
            retry=False,
            compensate=False,
            not_offered=NEITHER + "this FAILED saga has no step that failed; its history says more.",
        )
    if stopped.kind == "FORWARD":
        return Offer(
            retry=True,
            compensate=False,
            not_offered=f"Compensate is not offered: this saga stopped at {stopped.name}, its pivot or a "
            "later step, which may have taken effect. It can only go forward: Retry.",
            hint=f"Retry sends {stopped.name} again, with a fresh round of attempts.",
        )
    return Offer(
        retry=True,
        compensate=True,
        not_offered="",
        hint=f"The saga stopped while undoing its steps, at {stopped.name}: Retry and Compensate both "
        "send that step again, with a fresh round of attempts.",
    )
