"""The saga rules as a specification: given a reply to an action, expect the next action."""

import pytest

from saga_common.sagas.definition import ActionKind, Finish, Invoke, Saga, SagaDefinitionError, SagaState
from tests.example_saga import Data, authorize, cancel, capture, example_saga, schedule, void

FORWARD, COMPENSATION, FINAL = ActionKind.FORWARD, ActionKind.COMPENSATION, ActionKind.FINAL


def saga() -> Saga[Data]:
    return example_saga()


def test_saga_starts_with_its_first_step() -> None:
    assert saga().first() == Invoke(FORWARD, (0,), SagaState.RUNNING)


def test_each_success_moves_to_the_next_step_and_the_last_completes() -> None:
    definition = saga()
    assert definition.after_reply(FORWARD, 0, succeeded=True) == Invoke(FORWARD, (1,), SagaState.RUNNING)
    assert definition.after_reply(FORWARD, 2, succeeded=True) == Invoke(FORWARD, (3,), SagaState.RUNNING)
    assert definition.after_reply(FORWARD, 3, succeeded=True) == Finish(SagaState.COMPLETED)


def test_first_step_failing_has_nothing_to_compensate_and_rejects() -> None:
    assert saga().after_reply(FORWARD, 0, succeeded=False) == Invoke(FINAL, (0,), SagaState.COMPENSATING)


def test_pivot_failing_compensates_completed_steps_latest_first() -> None:
    definition = saga()
    # given the pivot (capture, index 2) failed
    first = definition.after_reply(FORWARD, 2, succeeded=False)
    # then shipping is cancelled first, then the payment voided, then the order rejected
    assert first == Invoke(COMPENSATION, (1,), SagaState.COMPENSATING)
    second = definition.after_reply(COMPENSATION, 1, succeeded=True)
    assert second == Invoke(COMPENSATION, (0,), SagaState.COMPENSATING)
    assert definition.after_reply(COMPENSATION, 0, succeeded=True) == Invoke(
        FINAL, (0,), SagaState.COMPENSATING
    )
    assert definition.after_reply(FINAL, 0, succeeded=True) == Finish(SagaState.COMPENSATED)


def test_failure_after_the_pivot_needs_an_operator() -> None:
    assert saga().after_reply(FORWARD, 3, succeeded=False) == Finish(SagaState.FAILED)


def test_failed_compensation_needs_an_operator() -> None:
    assert saga().after_reply(COMPENSATION, 1, succeeded=False) == Finish(SagaState.FAILED)
    assert saga().after_reply(FINAL, 0, succeeded=False) == Finish(SagaState.FAILED)


def test_without_a_final_command_compensation_ends_compensated() -> None:
    definition = Saga("bare", Data).step(authorize, compensate=void).step(schedule)
    assert definition.after_reply(FORWARD, 1, succeeded=False) == Invoke(
        COMPENSATION, (0,), SagaState.COMPENSATING
    )
    assert definition.after_reply(COMPENSATION, 0, succeeded=True) == Finish(SagaState.COMPENSATED)


def test_steps_are_named_after_their_functions() -> None:
    definition = saga()
    assert [s.invoke.name for s in definition.steps] == ["authorize", "schedule", "capture", "approve"]
    assert definition.action(COMPENSATION, 1).name == "cancel"
    assert definition.action(FINAL, 0).name == "reject"


def test_malformed_sagas_are_refused() -> None:
    with pytest.raises(SagaDefinitionError):
        Saga("two pivots", Data).pivot(capture).pivot(capture)
    with pytest.raises(SagaDefinitionError):
        Saga("compensating after pivot", Data).pivot(capture).step(schedule, compensate=cancel)
    with pytest.raises(SagaDefinitionError):
        Saga("empty", Data).first()
    with pytest.raises(SagaDefinitionError):
        saga().action(COMPENSATION, 3)  # approve has no compensation
