"""A saga's page offers only the operator actions its state allows, and says why not the others (the
orchestrator's rules: saga_common.sagas.operator_actions)."""

import pytest
import respx
from django.test import Client

from tests.conftest import saga_json, step_json

SAGA = "0d7a4c1e-0000-4000-8000-00000000000a"
RETRY = f'hx-post="/ops/sagas/{SAGA}/retry"'
COMPENSATE = f'hx-post="/ops/sagas/{SAGA}/compensate"'


def saga_page(operator: Client, apis: respx.MockRouter, state: str, *steps: dict[str, object]) -> str:
    saga = saga_json(SAGA, state, list(steps) if steps else None)
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=saga)
    return operator.get(f"/ops/sagas/{SAGA}").content.decode()


def done(name: str, kind: str = "FORWARD") -> dict[str, object]:
    return step_json(name, "SUCCEEDED", kind=kind, finished_at="2026-12-03T10:00:01Z", deadline_at=None)


def stopped(name: str, kind: str = "FORWARD") -> dict[str, object]:
    return step_json(name, "TIMED_OUT", kind=kind, finished_at="2026-12-03T10:00:09Z", deadline_at=None)


@pytest.mark.parametrize(
    ("state", "why"),
    [
        (
            "COMPLETED",
            "this saga COMPLETED. Nothing is left to retry, and past its pivot it cannot be undone.",
        ),
        ("COMPENSATED", "this saga was COMPENSATED: what it did is undone, and nothing is left to retry."),
        ("COMPENSATING", "this saga is COMPENSATING already"),
    ],
)
def test_a_saga_that_ended_or_is_compensating_offers_neither_and_says_why(
    operator: Client, apis: respx.MockRouter, state: str, why: str
) -> None:
    html = saga_page(operator, apis, state, done("authorize_payment"))
    assert (RETRY in html, COMPENSATE in html) == (False, False)
    assert f"Retry and Compensate are not offered: {why}" in html


def test_a_running_saga_offers_compensate_only(operator: Client, apis: respx.MockRouter) -> None:
    html = saga_page(operator, apis, "RUNNING")
    assert (RETRY in html, COMPENSATE in html) == (False, True)
    assert "Retry is not offered: this saga is RUNNING" in html
    assert "unless it has sent its pivot" in html  # the page cannot know; the orchestrator will say


def test_a_saga_that_failed_past_its_pivot_offers_retry_only(
    operator: Client, apis: respx.MockRouter
) -> None:
    html = saga_page(operator, apis, "FAILED", done("authorize_payment"), stopped("approve_order"))
    assert (RETRY in html, COMPENSATE in html) == (True, False)
    assert "Compensate is not offered: this saga stopped at approve_order, its pivot or a later step" in html


def test_a_saga_that_failed_while_compensating_offers_both(operator: Client, apis: respx.MockRouter) -> None:
    declined = step_json("schedule_shipment", "FAILED", finished_at="2026-12-03T10:00:02Z", deadline_at=None)
    steps = (done("authorize_payment"), declined, stopped("void_payment", "COMPENSATION"))
    html = saga_page(operator, apis, "FAILED", *steps)
    assert (RETRY in html, COMPENSATE in html) == (True, True)
    assert "not offered" not in html
    assert "at void_payment" in html


def test_the_actions_follow_the_state_as_the_page_refreshes(operator: Client, apis: respx.MockRouter) -> None:
    route = apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}")
    route.respond(json=saga_json(SAGA, "FAILED", [stopped("approve_order")]))
    assert RETRY in operator.get(f"/ops/sagas/{SAGA}/live").content.decode()
    route.respond(json=saga_json(SAGA, "COMPLETED", [done("approve_order")]))
    live = operator.get(f"/ops/sagas/{SAGA}/live").content.decode()
    assert RETRY not in live
    assert "this saga COMPLETED" in live
