"""The start-up check of a process that runs sagas (``SAGA_ENGINE``): every saga the database still runs
has its definition version here, and ``SAGA_START_VERSIONS`` names registered versions only.

A rollout that drops a version some saga still runs would strand those sagas (their replies could not
be applied); the check refuses to start such a process, with the versions and counts, before it takes
a message (``saga_common.checks.refuse_to_start_if_misconfigured`` runs it in the web and the worker).
"""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.db import DatabaseError, ProgrammingError
from django.utils.module_loading import import_string

from saga_common.checks import STARTUP
from saga_common.sagas.registry import SagaRegistry, UnknownSagaVersion, start_versions_setting


# A deployment check: a process's start (``refuse_to_start_if_misconfigured``) and ``check --deploy`` run
# it, not every management command (``migrate`` runs before the table it reads exists).
@register(STARTUP, deploy=True)
def running_sagas_have_their_definitions(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not getattr(settings, "SAGA_ENGINE", ""):
        return []
    registry: SagaRegistry = import_string(settings.SAGA_ENGINE).registry
    errors: list[CheckMessage] = _start_versions_errors(registry)
    try:
        missing = registry.missing_versions()
    except ProgrammingError:  # not migrated yet: no saga runs anything
        return errors
    except DatabaseError as exc:  # no database yet: the worker cannot run anything either, and says so
        return [
            *errors,
            Warning(f"could not read which saga versions are running: {exc}", id="saga_common.W008"),
        ]
    if missing:
        running = ", ".join(
            f"{name} v{version} ({count} unfinished)" for (name, version), count in sorted(missing.items())
        )
        errors.append(
            Error(
                f"sagas in the database run definitions this process does not have: {running}",
                hint="keep every version a saga still runs registered in the engine (docs/operations.md, "
                "'Saga versions'); retire one only once it runs no saga",
                id="saga_common.E007",
            )
        )
    return errors


def _start_versions_errors(registry: SagaRegistry) -> list[CheckMessage]:
    try:
        chosen = start_versions_setting()
    except ValueError:
        return [
            Error(
                f"SAGA_START_VERSIONS={settings.SAGA_START_VERSIONS!r} is not like "
                "'place_order=2,cancel_order=1'",
                id="saga_common.E008",
            )
        ]
    errors: list[CheckMessage] = []
    for name, version in sorted(chosen.items()):
        try:
            registry.of(name, version)
        except UnknownSagaVersion as exc:
            errors.append(Error(f"SAGA_START_VERSIONS: {exc}", id="saga_common.E008"))
    return errors
