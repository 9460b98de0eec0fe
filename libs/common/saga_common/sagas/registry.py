"""Every saga definition an engine runs, by name and version, and the version new sagas start on.

A saga runs to its end on the version it started on (``SagaInstance.version``). A deployment keeps a
version registered for as long as a saga in its database still runs it; ``SAGA_START_VERSIONS``
(default: each saga's newest) picks what new sagas get, so a new version can be rolled out, and rolled
back, without touching a saga in flight. ``missing_versions`` is what the orchestrator's start-up
check asks (``saga_common.sagas.checks``).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import Count

from saga_common.sagas.definition import Saga, SagaDefinitionError
from saga_common.sagas.models import UNFINISHED_STATES, SagaInstance


class UnknownSagaVersion(LookupError):
    """A saga runs a definition (name, version) this process does not have."""


class SagaRegistry:
    def __init__(
        self, definitions: Iterable[Saga[Any]], start_versions: Mapping[str, int] | None = None
    ) -> None:
        self._by_key: dict[tuple[str, int], Saga[Any]] = {}
        for definition in definitions:
            key = (definition.name, definition.version)
            if key in self._by_key:
                raise SagaDefinitionError(
                    f"saga {definition.name} version {definition.version} is registered twice"
                )
            self._by_key[key] = definition
        self._start_versions = start_versions

    def __iter__(self) -> Any:
        return iter(sorted(self._by_key.values(), key=lambda d: (d.name, d.version)))

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._by_key})

    def of(self, saga_type: str, version: int) -> Saga[Any]:
        """The definition a saga of this type and version runs."""
        try:
            return self._by_key[(saga_type, version)]
        except KeyError:
            raise UnknownSagaVersion(
                f"no definition of saga {saga_type} version {version} is registered here"
            ) from None

    def starting(self, name: str) -> Saga[Any]:
        """The definition a new saga named ``name`` starts on: ``SAGA_START_VERSIONS`` names it, else
        the newest registered (read each time, so a test or a restart with another setting switches)."""
        chosen = (self._start_versions if self._start_versions is not None else start_versions_setting()).get(
            name
        )
        if chosen is None:
            versions = [version for saga_name, version in self._by_key if saga_name == name]
            if not versions:
                raise UnknownSagaVersion(f"no saga {name} is registered here")
            chosen = max(versions)
        return self.of(name, chosen)

    def running_versions(self) -> dict[tuple[str, int], int]:
        """How many unfinished sagas (running, compensating, FAILED) each (type, version) has, read from
        the database (one GROUP BY over the small index of unfinished sagas)."""
        rows = (
            SagaInstance.objects.filter(state__in=[state.value for state in UNFINISHED_STATES])
            .order_by()
            .values_list("saga_type", "version")
            .annotate(count=Count("id"))
        )
        return {(saga_type, version): count for saga_type, version, count in rows}

    def missing_versions(self) -> dict[tuple[str, int], int]:
        """The (type, version)s some unfinished saga runs that this process lacks, with their counts."""
        return {key: count for key, count in self.running_versions().items() if key not in self._by_key}


def start_versions_setting() -> dict[str, int]:
    """``SAGA_START_VERSIONS`` as a mapping; the setting is a dict or text like ``place_order=1``."""
    raw = getattr(settings, "SAGA_START_VERSIONS", {}) or {}
    if isinstance(raw, Mapping):
        return {str(name): int(version) for name, version in raw.items()}
    chosen: dict[str, int] = {}
    for part in str(raw).split(","):
        if part.strip():
            name, _, version = part.partition("=")
            chosen[name.strip()] = int(version)
    return chosen
