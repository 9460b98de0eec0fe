"""Where each service lives and how it is reached locally, from the one list: ``services.json``."""

import json
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICES_FILE = REPO_ROOT / "services.json"


@dataclass(frozen=True)
class Service:
    name: str  # orders: its database, topics' consumer group, image (saga-orders) and k8s names
    folder: str  # svc_orders: the workspace member
    package: str  # svc-orders: its distribution name (uv sync --package)
    module: str  # orders: its Django project package (orders.settings, orders.wsgi)
    port: int  # where make up serves its API

    @property
    def directory(self) -> Path:
        return REPO_ROOT / self.folder

    @property
    def manage_py(self) -> Path:
        return self.directory / "manage.py"


def load_services(path: Path = SERVICES_FILE) -> tuple[Service, ...]:
    return tuple(Service(**entry) for entry in json.loads(path.read_text())["services"])


SERVICES = load_services()
