"""Read compose.yaml, the one source of each container's image, command and environment.

Only what the end-to-end suite needs of the Compose format: services with ``image``, ``command`` and
``environment`` (YAML merge keys included), and variables as Compose interpolates them: ``${NAME}``,
``${NAME:-default}``, ``${NAME-default}``, ``${NAME:?error}`` and ``$$`` for a dollar sign.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devstack.services import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "compose.yaml"
_VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


class ComposeError(ValueError):
    """A variable the file requires (``${NAME:?...}``) is not set, or the file is not what we read."""


@dataclass(frozen=True)
class ComposeService:
    name: str
    image: str
    command: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Substitute Compose variables in ``text`` from ``variables``."""

    def value(match: re.Match[str]) -> str:
        name = match["name"]
        if name is None:  # "$$"
            return "$"
        given = variables.get(name)
        op, arg = match["op"], match["arg"] or ""
        if op in (":-", "-"):
            return arg if given is None or (op == ":-" and given == "") else given
        if op in (":?", "?"):
            if given is None or (op == ":?" and given == ""):
                raise ComposeError(f"{name} must be set: {arg}")
            return given
        return given or ""

    return _VARIABLE.sub(value, text)


def load_compose(variables: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, ComposeService]:
    """Every service of the file, its values interpolated with ``variables``."""
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    services: dict[str, ComposeService] = {}
    for name, spec in document["services"].items():
        command = spec.get("command", [])
        if not isinstance(command, list):
            raise ComposeError(f"{name}: write its command as a list")
        services[name] = ComposeService(
            name=name,
            image=interpolate(spec["image"], variables),
            command=[interpolate(str(part), variables) for part in command],
            environment={
                key: interpolate(str(raw), variables) for key, raw in (spec.get("environment") or {}).items()
            },
        )
    return services
