"""Reads of the orchestrator: sagas with their steps and history, and how many sagas are in each state."""

from functools import cache
from typing import Any
from uuid import UUID

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from orchestrator.engine import engine
from saga_common.messaging.message import Command, registered_messages
from saga_common.sagas.definition import SagaState
from saga_common.sagas.describe import describe
from saga_common.sagas.models import SagaInstance
from shop_contracts.topics import WRITERS_AND_READERS


def _sagas() -> QuerySet[SagaInstance]:
    return SagaInstance.objects.prefetch_related("steps", "history").order_by("-created_at", "id")


def saga_get(*, saga_id: UUID) -> SagaInstance:
    """The saga, its steps and history; 404 if unknown."""
    return get_object_or_404(_sagas(), id=saga_id)


def saga_list(
    *,
    order_id: str | None = None,
    state: str | None = None,
    saga_type: str | None = None,
    version: int | None = None,
) -> QuerySet[SagaInstance]:
    """Sagas, newest first, optionally of one order, in one state, of one type (e.g. ``place_order``),
    on one version of its definition."""
    sagas = _sagas()
    if order_id is not None:
        sagas = sagas.filter(order_id=order_id)
    if state is not None:
        sagas = sagas.filter(state=state)
    if saga_type is not None:
        sagas = sagas.filter(saga_type=saga_type)
    if version is not None:
        sagas = sagas.filter(version=version)
    return sagas


def saga_counts(*, saga_type: str | None = None) -> dict[str, int]:
    """How many sagas are in each state (every state, zeros included), in one GROUP BY query."""
    sagas = SagaInstance.objects.all()
    if saga_type is not None:
        sagas = sagas.filter(saga_type=saga_type)
    counts = dict.fromkeys((state.value for state in SagaState), 0)
    for state, number in sagas.order_by().values_list("state").annotate(number=Count("id")):
        counts[state] = number
    return counts


def saga_descriptions() -> list[dict[str, Any]]:
    """Every registered definition and version, described (``saga_common.sagas.describe``), with whether
    new sagas start on it."""
    return [
        {
            **describe(definition, lambda command: step_participant(command.type_name())),
            "starts_new_sagas": engine.registry.starting(definition.name) is definition,
        }
        for definition in engine.registry
    ]


def saga_definitions() -> list[dict[str, Any]]:
    """The descriptions, each with how many unfinished sagas run it (one GROUP BY)."""
    running = engine.registry.running_versions()
    return [
        {**described, "unfinished": running.get((described["type"], described["version"]), 0)}
        for described in saga_descriptions()
    ]


@cache
def _participant_by_command() -> dict[str, str]:
    """Each command's short type name -> the service that reads its topic (shop_contracts.topics)."""
    return {
        cls.type_name(): WRITERS_AND_READERS[cls.topic][1][0]
        for cls in registered_messages()
        if issubclass(cls, Command) and cls.topic in WRITERS_AND_READERS
    }


def step_participant(command_type: str) -> str | None:
    """The service that handles a step's command (``payments`` for AuthorizePayment); None for a
    command this code no longer knows (a step recorded by an older version)."""
    return _participant_by_command().get(command_type)
