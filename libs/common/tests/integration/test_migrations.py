"""The saga tables' migrations carry existing sagas forward: steps made before 0003 get the command id
of every attempt they sent, and older code can still insert steps (0003) and sagas (0004)."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from saga_common.sagas.definition import ActionKind
from saga_common.sagas.ids import command_id_for

BEFORE, AFTER = [("sagas", "0002_step_deadlines")], [("sagas", "0003_step_command_ids")]


@pytest.mark.django_db(transaction=True)
def test_steps_made_before_the_migration_get_every_attempts_command_id() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    saga_id = uuid.uuid4()
    saga = old.get_model("sagas", "SagaInstance").objects.create(
        id=saga_id, saga_type="place_order", order_id="o-1", state="RUNNING", data={}, correlation_id="c"
    )
    latest = command_id_for(saga_id, ActionKind.FORWARD, 1, 3)
    old.get_model("sagas", "SagaStep").objects.create(
        saga=saga, position=0, name="schedule", kind="FORWARD", definition_index=1, status="STARTED",
        attempts=3, command_id=latest, command_type="ScheduleShipment", give_up_after=5,
    )  # fmt: skip
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        step = new.get_model("sagas", "SagaStep").objects.get()
        assert step.command_ids == [command_id_for(saga_id, ActionKind.FORWARD, 1, a) for a in (1, 2, 3)]
        # an orchestrator still on the older code inserts a step without the column
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO saga_step (saga_id, position, name, kind, definition_index, status, attempts,"
                " command_id, command_type, reply_type, give_up_after, started_at)"
                " VALUES (%s, 1, 'capture', 'FORWARD', 2, 'STARTED', 1, %s, 'CapturePayment', '', 5, now())",
                [saga_id, uuid.uuid4()],
            )
            cursor.execute("SELECT command_ids FROM saga_step WHERE position = 1")
            assert cursor.fetchone() == ([],)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_an_orchestrator_on_the_older_code_can_still_start_sagas_after_0004() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("sagas", "0004_saga_trace")])
    try:
        with connection.cursor() as cursor:  # the columns 0003's code knows, and no more
            cursor.execute(
                "INSERT INTO saga_instance (id, saga_type, order_id, state, data, correlation_id,"
                " current_step, created_at, updated_at)"
                " VALUES (%s, 'place_order', 'o-2', 'RUNNING', '{}', 'c', '', now(), now())",
                [uuid.uuid4()],
            )
            cursor.execute("SELECT trace_id, trace_parent FROM saga_instance WHERE order_id = 'o-2'")
            assert cursor.fetchone() == ("", "")
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
