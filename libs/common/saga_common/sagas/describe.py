"""A saga definition as data and as a Mermaid diagram: what ``GET /api/v1/sagas/definitions`` serves, what
``make contract-docs`` writes into docs/sagas/, and what the console draws a saga's progress on.

Pure: it reads a ``Saga`` (its steps, groups, pivot, compensations and reply hooks) and the command
classes its factories are annotated to return, nothing else.
"""

import typing
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from saga_common.messaging.message import Command
from saga_common.sagas.definition import Action, Saga


def command_class(action: Action[Any]) -> type[Command] | None:
    """The command class ``action``'s factory says it returns (None: not annotated)."""
    hint = typing.get_type_hints(action.make_command).get("return")
    return hint if isinstance(hint, type) and issubclass(hint, Command) else None


def describe(saga: Saga[Any], participant_of: Callable[[type[Command]], str | None]) -> dict[str, Any]:
    """The definition as JSON-ready data; ``participant_of`` names the service that handles a command."""

    def action(act: Action[Any] | None) -> dict[str, Any] | None:
        if act is None:
            return None
        command = command_class(act)
        return {
            "name": act.name,
            "command": command.type_name() if command else None,
            "participant": participant_of(command) if command else None,
            "replies": [reply.type_name() for reply in command.outcomes] if command else [],
            "reply_hooks": sorted(reply.type_name() for reply in act.on_reply),
        }

    groups: dict[int, list[int]] = {}
    for index, step in enumerate(saga.steps):
        groups.setdefault(step.group, []).append(index)
    return {
        "type": saga.name,
        "version": saga.version,
        "steps": [
            {
                "index": index,
                **(action(step.invoke) or {}),
                "group": step.group,
                "parallel": len(groups[step.group]) > 1,
                "pivot": step.pivot,
                "compensation": action(step.compensate),
            }
            for index, step in enumerate(saga.steps)
        ],
        "groups": list(groups.values()),
        "pivot": saga.pivot_index(),
        "on_compensated": action(saga.final),
        "mermaid": mermaid(saga),
    }


def mermaid(saga: Saga[Any]) -> str:
    """A Mermaid flowchart of the saga: the forward steps top to bottom (branches of a parallel group
    side by side, the pivot a hexagon), and, dotted, the compensations a refusal runs, latest first
    (a step given up on is compensated too, from its own compensation)."""
    lines = ["flowchart TD", '    start(["start"])']
    groups: dict[int, list[int]] = {}
    for index, step in enumerate(saga.steps):
        groups.setdefault(step.group, []).append(index)
        label = _label(step.invoke, "pivot: only forward after it" if step.pivot else "")
        lines.append(f'    s{index}{{{{"{label}"}}}}' if step.pivot else f'    s{index}["{label}"]')
    lines.append('    completed(["COMPLETED"])')
    previous = ["start"]
    for members in groups.values():
        nodes = [f"s{i}" for i in members]
        lines.append(f"    {' & '.join(previous)} --> {' & '.join(nodes)}")
        previous = nodes
    lines.append(f"    {' & '.join(previous)} --> completed")
    compensations = [i for i, step in enumerate(saga.steps) if step.compensate is not None]
    undo = [f"c{i}" for i in reversed(compensations)]
    for i in reversed(compensations):
        lines.append(f'    c{i}["{_label(saga.steps[i].compensate)}"]')  # type: ignore[arg-type]
    if saga.final is not None:
        lines.append(f'    final["{_label(saga.final)}"]')
        undo.append("final")
    lines.append('    compensated(["COMPENSATED"])')
    undo.append("compensated")
    pivot = saga.pivot_index()
    nothing_to_undo = "final" if saga.final is not None else "compensated"
    first_undo: dict[str, list[str]] = {}  # what a refusal of each step compensates first
    for index in range(len(saga.steps) if pivot is None else pivot + 1):
        group_end = max(i for i, step in enumerate(saga.steps) if step.group == saga.steps[index].group)
        undone = [j for j in compensations if j <= group_end and j != index]
        first_undo.setdefault(f"c{max(undone)}" if undone else nothing_to_undo, []).append(f"s{index}")
    for target, sources in first_undo.items():
        lines.append(f"    {' & '.join(sources)} -. refused .-> {target}")
    lines.extend(f"    {a} -.-> {b}" for a, b in pairwise(undo))
    if pivot is not None and pivot + 1 < len(saga.steps):
        lines.append('    failed(["FAILED: an operator retries"])')
        after = [f"s{i}" for i in range(pivot + 1, len(saga.steps))]
        lines.append(f"    {' & '.join(after)} -. refused .-> failed")
    return "\n".join(lines) + "\n"


def _label(act: Action[Any], note: str = "") -> str:
    command = command_class(act)
    text = act.name + (f"<br/>{command.type_name()}" if command else "")
    return text + (f"<br/><i>{note}</i>" if note else "")
