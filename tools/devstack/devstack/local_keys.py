"""The keys everything run on this machine shares: the local stack, the tests, the benchmarks.

The services refuse to start outside debug mode with saga_common's development keys (anyone can read
them), and they run here as deployed, without debug mode. So this checkout gets keys of its own:
generated on first use and kept in ``.run/local.env``, which a shell can load to mint tokens the
running stack accepts (``set -a; . .run/local.env; set +a``). A key set in the environment wins.
"""

import os
import secrets
import tempfile
from pathlib import Path

from devstack.services import REPO_ROOT

NAMES = ("JWT_SIGNING_KEY", "DJANGO_SECRET_KEY")
LOCAL_ENV_FILE = REPO_ROOT / ".run" / "local.env"


def local_keys(path: Path = LOCAL_ENV_FILE) -> dict[str, str]:
    """``JWT_SIGNING_KEY`` and ``DJANGO_SECRET_KEY``, from the environment or ``path``."""
    stored = _stored(path)
    return {name: os.environ.get(name) or stored[name] for name in NAMES}


def jwt_signing_key(path: Path = LOCAL_ENV_FILE) -> str:
    """The key the local stack checks tokens with (what SystemClient and the benchmarks sign with)."""
    return local_keys(path)["JWT_SIGNING_KEY"]


def _stored(path: Path) -> dict[str, str]:
    if not path.exists():
        _create(path)
    lines = path.read_text().splitlines()
    stored = dict(line.split("=", 1) for line in lines if "=" in line)
    missing = [name for name in NAMES if not stored.get(name)]
    if missing:
        raise RuntimeError(f"{path} lacks {', '.join(missing)}: delete it to have new keys made")
    return stored


def _create(path: Path) -> None:
    """Write new keys, atomically: processes starting together all end up with the first one's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write("".join(f"{name}={secrets.token_urlsafe(32)}\n" for name in NAMES))
        os.link(draft, path)  # fails if another process created it meanwhile: theirs stands
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)
