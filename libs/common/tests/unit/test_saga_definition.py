"""The saga rules as a specification: given a reply to an action, expect the next action."""

import pytest

from saga_common.sagas.definition import (
    ActionKind,
    Finish,
    Invoke,
    Outcome,
    Saga,
    SagaDefinitionError,
    SagaState,
    Wait,
    branch,
)
from tests.example_saga import (
    Data,
    approve,
    authorize,
    cancel,
    capture,
    example_parallel_saga,
    example_saga,
    reject,
    schedule,
    void,
)

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


# --- parallel steps ------------------------------------------------------------------------------

PENDING, SUCCEEDED, REFUSED, UNKNOWN = Outcome.PENDING, Outcome.SUCCEEDED, Outcome.REFUSED, Outcome.UNKNOWN


def test_a_parallel_group_is_sent_at_once() -> None:
    definition = example_parallel_saga()
    assert definition.first() == Invoke(FORWARD, (0, 1), SagaState.RUNNING)
    assert (definition.group_at(0), definition.group_at(1), definition.group_at(2)) == ((0, 1), (0, 1), (2,))


def test_the_saga_moves_on_once_every_branch_succeeded_whatever_the_order() -> None:
    definition = example_parallel_saga()
    assert definition.after_reply(FORWARD, 1, True, {0: PENDING, 1: SUCCEEDED}) == Wait()
    assert definition.after_reply(FORWARD, 0, True, {0: SUCCEEDED, 1: PENDING}) == Wait()
    joined = Invoke(FORWARD, (2,), SagaState.RUNNING)
    assert definition.after_reply(FORWARD, 0, True, {0: SUCCEEDED, 1: SUCCEEDED}) == joined
    assert definition.after_reply(FORWARD, 1, True, {0: SUCCEEDED, 1: SUCCEEDED}) == joined


def test_a_refused_branch_compensates_the_branch_that_succeeded_not_itself() -> None:
    definition = example_parallel_saga()
    # the first branch refused after the second succeeded: the second (a later index) is undone
    assert definition.after_reply(FORWARD, 0, False, {0: REFUSED, 1: SUCCEEDED}) == Invoke(
        COMPENSATION, (1,), SagaState.COMPENSATING
    )
    # then the refused one is skipped: straight to the final command
    after = definition.after_reply(COMPENSATION, 1, True, {0: REFUSED, 1: SUCCEEDED})
    assert after == Invoke(FINAL, (0,), SagaState.COMPENSATING)


def test_a_refused_branch_compensates_a_branch_still_waiting_which_may_yet_succeed() -> None:
    definition = example_parallel_saga()
    assert definition.after_reply(FORWARD, 1, False, {0: PENDING, 1: REFUSED}) == Invoke(
        COMPENSATION, (0,), SagaState.COMPENSATING
    )


def test_a_branch_given_up_on_is_compensated_with_the_one_that_succeeded_latest_first() -> None:
    definition = example_parallel_saga()
    first = definition.after_give_up(FORWARD, 0, {0: UNKNOWN, 1: SUCCEEDED})
    assert first == Invoke(COMPENSATION, (1,), SagaState.COMPENSATING)
    second = definition.after_reply(COMPENSATION, 1, True, {0: UNKNOWN, 1: SUCCEEDED})
    assert second == Invoke(COMPENSATION, (0,), SagaState.COMPENSATING)


def test_parallel_steps_are_refused_past_the_pivot_and_need_a_step() -> None:
    with pytest.raises(SagaDefinitionError, match="before the pivot"):
        Saga("late", Data).pivot(capture).parallel(approve, approve)
    with pytest.raises(SagaDefinitionError, match="at least one"):
        Saga("empty group", Data).parallel()
    with pytest.raises(SagaDefinitionError, match="cannot be compensated"):
        Saga("late", Data).pivot(capture).parallel(branch(approve, compensate=reject))
    with pytest.raises(SagaDefinitionError, match="versions count from 1"):
        Saga("v0", Data, version=0)


def test_every_saga_of_the_example_is_one_step_per_group_unless_parallel() -> None:
    assert [step.group for step in example_saga().steps] == [0, 1, 2, 3]
    assert [step.group for step in example_parallel_saga().steps] == [0, 0, 1, 2]
    assert example_parallel_saga().pivot_index() == 2
