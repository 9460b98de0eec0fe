"""Where each service lives and how it is reached locally, from the one list: ``services.json``.

Its "services" own a database, a worker, migrations and topics; its "apps" (the console) are web apps
with none of these: an image and a gunicorn process, run wherever the services run, never where a
database, a worker or a topic is meant (``SERVICES`` holds only the services)."""

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


@dataclass(frozen=True)
class App:
    name: str  # console: its image (saga-console) and k8s names (Service console, Deployment console-web)
    folder: str  # console: the workspace member
    package: str  # console: its distribution name (uv sync --package)
    module: str  # console: its Django project package (console.settings, console.wsgi)
    port: int  # where it is served on the host (compose, Tilt)

    @property
    def directory(self) -> Path:
        return REPO_ROOT / self.folder


def load_services(path: Path = SERVICES_FILE) -> tuple[Service, ...]:
    return tuple(Service(**entry) for entry in json.loads(path.read_text())["services"])


def load_apps(path: Path = SERVICES_FILE) -> tuple[App, ...]:
    return tuple(App(**entry) for entry in json.loads(path.read_text()).get("apps", []))


SERVICES = load_services()
APPS = load_apps()
