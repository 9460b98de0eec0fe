"""A saga's definition drawn as an SVG, with where this saga is now: each step done, waiting, failed,
given up, compensated, or not reached yet.

Drawn here, on the server, from the orchestrator's description of the definition
(``GET /api/v1/sagas/definitions``) and the saga's own steps: the page needs no script for it, and
none from outside the console (its Content-Security-Policy stays ``'self'``). The forward steps go
top to bottom, the branches of a parallel group side by side, the pivot outlined twice; the
compensations a failure runs go down the right-hand side, dashed, latest first, then the final command.
The colours are console.css's, by class.
"""

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from saga_client.models import Saga, SagaDefinition

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 250, 46, 24, 34, 16
COMPENSATION_X_GAP = 70  # between the forward steps and the compensation column

# What a step's status means on the drawing.
PHASES = {
    "SUCCEEDED": "done",
    "STARTED": "waiting",
    "RETRY_WAIT": "waiting",
    "FAILED": "failed",
    "TIMED_OUT": "given-up",
    "ABANDONED": "given-up",
}
LEGEND = ("done", "waiting", "failed", "given-up", "compensated", "not-reached")


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    name: str
    command: str
    phase: str
    label: str  # the phase in words, on the box
    pivot: bool = False
    undo: bool = False  # a compensation or the final command (dashed)


def phases_of(saga: Saga) -> dict[tuple[str, str], str]:
    """Each (kind, step name) the saga has sent, and its phase (the latest attempt's)."""
    return {(step.kind, step.name): PHASES.get(step.status, "waiting") for step in saga.steps}


def boxes(definition: SagaDefinition, saga: Saga) -> list[Box]:
    """The boxes of the drawing, placed, each with its phase in this saga."""
    sent = phases_of(saga)
    placed = []
    widest = max(len(group) for group in definition.groups)
    for row, group in enumerate(definition.groups):
        offset = (widest - len(group)) * (BOX_W + GAP_X) // 2  # a lone step sits in the middle
        for column, index in enumerate(group):
            step = definition.steps[index]
            phase = sent.get(("FORWARD", step.name), "not-reached")
            if step.compensation and sent.get(("COMPENSATION", step.compensation.name)) == "done":
                phase = "compensated"
            placed.append(
                Box(
                    MARGIN + offset + column * (BOX_W + GAP_X),
                    MARGIN + row * (BOX_H + GAP_Y),
                    step.name,
                    step.command or "",
                    phase,
                    phase.replace("-", " "),
                    pivot=step.pivot,
                )
            )
    undo_x = MARGIN + widest * (BOX_W + GAP_X) - GAP_X + COMPENSATION_X_GAP
    undoing = [s.compensation for s in reversed(definition.steps) if s.compensation is not None]
    if definition.on_compensated is not None:
        undoing.append(definition.on_compensated)
    for row, action in enumerate(undoing):
        kind = "FINAL" if action is definition.on_compensated else "COMPENSATION"
        phase = sent.get((kind, action.name), "not-reached")
        placed.append(
            Box(
                undo_x,
                MARGIN + row * (BOX_H + GAP_Y),
                action.name,
                action.command or "",
                phase,
                phase.replace("-", " "),
                undo=True,
            )
        )
    return placed


def render(definition: SagaDefinition, saga: Saga) -> SafeString:
    """The SVG of ``definition`` with ``saga``'s progress on it."""
    placed = boxes(definition, saga)
    width = max(box.x for box in placed) + BOX_W + MARGIN
    height = max(box.y for box in placed) + BOX_H + MARGIN
    forward = [box for box in placed if not box.undo]
    rows: dict[int, list[Box]] = {}
    for box in forward:
        rows.setdefault(box.y, []).append(box)
    ordered = [rows[y] for y in sorted(rows)]
    arrows = [
        (a.x + BOX_W // 2, a.y + BOX_H, b.x + BOX_W // 2, b.y, "")
        for upper, lower in pairwise(ordered)
        for a in upper
        for b in lower
    ]
    undo = [box for box in placed if box.undo]
    arrows += [(a.x + BOX_W // 2, a.y + BOX_H, b.x + BOX_W // 2, b.y, "dashed") for a, b in pairwise(undo)]
    title = f"{definition.type} version {definition.version}"
    return format_html(
        '<svg class="saga-diagram" role="img" aria-labelledby="diagram-title" viewBox="0 0 {} {}" '
        'width="{}" height="{}" xmlns="http://www.w3.org/2000/svg"><title id="diagram-title">{}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head"/></marker></defs>'
        "{}{}</svg>",
        width,
        height,
        width,
        height,
        title,
        format_html_join(
            "",
            '<line x1="{}" y1="{}" x2="{}" y2="{}" class="edge {}" marker-end="url(#arrow)"/>',
            arrows,
        ),
        mark_safe("".join(_box(box) for box in placed)),  # each box is format_html's
    )


def _box(box: Box) -> str:
    classes = " ".join(
        filter(None, ["step-box", box.phase, "pivot" if box.pivot else "", "undo" if box.undo else ""])
    )
    return format_html(
        '<g class="{}" data-step="{}" data-phase="{}"><rect x="{}" y="{}" width="{}" height="{}" rx="6"/>'
        '<text x="{}" y="{}" class="step-name">{}</text>'
        '<text x="{}" y="{}" class="step-detail">{}</text></g>',
        classes,
        box.name,
        box.phase,
        box.x,
        box.y,
        BOX_W,
        BOX_H,
        box.x + 10,
        box.y + 19,
        box.name + ("  (pivot)" if box.pivot else ""),
        box.x + 10,
        box.y + 36,
        f"{box.command} · {box.label}",
    )


def definition_of(definitions: list[SagaDefinition] | None, saga: Saga | None) -> SagaDefinition | None:
    """The definition version ``saga`` runs, among those the orchestrator described."""
    if not definitions or saga is None:
        return None
    return next((d for d in definitions if (d.type, d.version) == (saga.type, saga.version)), None)


def pivot_of(definition: SagaDefinition | None) -> str | None:
    """The name of the definition's pivot step (None: no pivot, or no definition)."""
    if definition is None or definition.pivot is None:
        return None
    return definition.steps[definition.pivot].name


def legend() -> list[dict[str, Any]]:
    return [{"phase": phase, "label": phase.replace("-", " ")} for phase in LEGEND]
