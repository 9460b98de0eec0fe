"""Where each service lives and how it is reached locally (docs/design.md: ports 8001-8004)."""

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Service:
    name: str
    folder: str
    package: str
    port: int

    @property
    def directory(self) -> Path:
        return REPO_ROOT / self.folder

    @property
    def manage_py(self) -> Path:
        return self.directory / "manage.py"


SERVICES = (
    Service("orders", "svc_orders", "orders", 8001),
    Service("payments", "svc_payments", "payments", 8002),
    Service("shipping", "svc_shipping", "shipping", 8003),
    Service("orchestrator", "orchestrator", "orchestrator", 8004),
)
