"""Operators acting on sagas through the REST API at random moments, as people would during an incident.

Each action's outcome is counted (accepted: 200, refused: 409). One rule can be checked on the spot:
``compensate`` aimed at a saga whose pivot was pending must be refused, whatever the saga did in the
meantime (it could only have gone forward). Any other status than 200 or 409 is a violation too.
``heal`` is what an operator does at the end of an incident: retry every FAILED saga until none is.
"""

import random
import threading
from collections import Counter

from e2e.client import SystemClient
from saga_client import ApiError, ServiceUnavailable, UnexpectedResponse
from saga_client.models import Saga

# Each saga's pivot: a compensate aimed at a saga waiting on it must be refused.
PIVOTS = {"place_order": "capture_payment", "cancel_order": "cancel_shipment"}


class OperatorActions:
    def __init__(self, client: SystemClient, *, seed: int, interval: float = 1.5) -> None:
        self.client, self.interval = client, interval
        self.random = random.Random(seed)
        self.outcomes: Counter[str] = Counter()
        self.violations: list[str] = []

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.act_once()
            except (ServiceUnavailable, ApiError) as exc:  # a fault may have the orchestrator down
                cause = exc.__cause__ or exc  # the connection error, or the ServerError
                self.outcomes[f"not reached ({type(cause).__name__})"] += 1

    def act_once(self) -> None:
        running = self.client.sagas(state="RUNNING")
        at_pivot = [s for s in running if s.current_step == PIVOTS.get(s.type)]
        if at_pivot and self.random.random() < 0.4:
            self._act(self.random.choice(at_pivot), "compensate", "at pivot")
            return
        failed = self.client.sagas(state="FAILED")
        if failed and self.random.random() < 0.5:  # an operator on call looks at FAILED sagas first
            self._act(self.random.choice(failed), "retry", "FAILED")
            return
        candidates = running + failed
        if candidates:
            saga = self.random.choice(candidates)
            self._act(saga, self.random.choice(["retry", "compensate"]), saga.state)

    def heal(self) -> int:
        """Retry every FAILED saga once; return how many were retried."""
        failed = self.client.sagas(state="FAILED")
        for saga in failed:
            self._act(saga, "retry", "healing FAILED")
        return len(failed)

    def _act(self, saga: Saga, action: str, situation: str) -> None:
        acted: Saga | None = None
        try:
            acted = self.client.saga_action(saga.id, action)
            status, body = 200, ""
        except ApiError as exc:
            status, body = exc.status, str(exc.detail)
        except UnexpectedResponse as exc:  # a 200 whose body is not a saga
            status, body = 200, str(exc)
            self.violations.append(f"operator {action} on saga {saga.id} answered what is no saga: {exc}")
        outcome = {200: "accepted", 409: "refused"}.get(status, f"HTTP {status}")
        self.outcomes[f"{action} ({situation}) {outcome}"] += 1
        if status not in (200, 409):
            self.violations.append(f"operator {action} on saga {saga.id} answered {status}: {body}")
        # A 200 can be an idempotent no-op (the capture failed meanwhile and the saga compensates on
        # its own); an accepted compensation is one the history records as the operator's.
        history = acted.history if acted is not None else ()
        if situation == "at pivot" and any(e.event == "OperatorCompensate" for e in history):
            self.violations.append(f"compensate accepted on saga {saga.id} after its pivot was sent")
