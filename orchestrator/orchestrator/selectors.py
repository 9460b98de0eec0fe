"""Reads of the orchestrator: sagas with their steps and history."""

from uuid import UUID

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from saga_common.sagas.models import SagaInstance


def _sagas() -> QuerySet[SagaInstance]:
    return SagaInstance.objects.prefetch_related("steps", "history").order_by("-created_at", "id")


def saga_get(*, saga_id: UUID) -> SagaInstance:
    """The saga, its steps and history; 404 if unknown."""
    return get_object_or_404(_sagas(), id=saga_id)


def saga_list(*, order_id: str | None = None, state: str | None = None) -> QuerySet[SagaInstance]:
    """Sagas, newest first, optionally of one order or in one state."""
    sagas = _sagas()
    if order_id is not None:
        sagas = sagas.filter(order_id=order_id)
    if state is not None:
        sagas = sagas.filter(state=state)
    return sagas
