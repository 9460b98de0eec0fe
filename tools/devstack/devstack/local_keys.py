"""The keys everything run on this machine shares: the local stack, the tests, the benchmarks.

The services refuse to start outside debug mode with saga_common's development keys (anyone can read
them), and they run here as deployed, without debug mode. So this checkout gets keys of its own:
generated on first use and kept in ``.run/local.env``, which a shell can load to mint tokens the
running stack accepts (``set -a; . .run/local.env; set +a``). A key set in the environment wins.

The same file holds the passwords of the broker's users (devstack.broker_auth): the admin's and each
service's. A file written before a name existed gets that name added, and keeps what it had.
"""

import fcntl
import os
import secrets
import tempfile
from pathlib import Path

from devstack.services import REPO_ROOT, SERVICES
from saga_common.messaging.access import password_variable

NAMES = ("JWT_SIGNING_KEY", "DJANGO_SECRET_KEY")
BROKER_USERS = ("admin", *(service.name for service in SERVICES))
BROKER_PASSWORDS = {password_variable(user): user for user in BROKER_USERS}
LOCAL_ENV_FILE = REPO_ROOT / ".run" / "local.env"


def local_keys(path: Path = LOCAL_ENV_FILE) -> dict[str, str]:
    """``JWT_SIGNING_KEY`` and ``DJANGO_SECRET_KEY``, from the environment or ``path``."""
    stored = _stored(path)
    return {name: os.environ.get(name) or stored[name] for name in NAMES}


def broker_passwords(path: Path = LOCAL_ENV_FILE) -> dict[str, str]:
    """The password of each of the broker's users, by user name (``KAFKA_PASSWORD_<USER>`` in ``path``;
    the environment wins, as compose and the Kubernetes Secrets name them)."""
    stored = _stored(path)
    return {user: os.environ.get(name) or stored[name] for name, user in BROKER_PASSWORDS.items()}


def jwt_signing_key(path: Path = LOCAL_ENV_FILE) -> str:
    """The key the local stack checks tokens with (what SystemClient and the benchmarks sign with)."""
    return local_keys(path)["JWT_SIGNING_KEY"]


def _stored(path: Path) -> dict[str, str]:
    if not path.exists():
        _create(path)
    with open(path) as file:
        fcntl.flock(file, fcntl.LOCK_SH)  # not half of a line another process is adding (_top_up)
        stored = _read(path)
    missing = [name for name in NAMES if not stored.get(name)]
    if missing:
        raise RuntimeError(f"{path} lacks {', '.join(missing)}: delete it to have new keys made")
    if any(not stored.get(name) for name in BROKER_PASSWORDS):
        stored = _top_up(path)
    return stored


def _read(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _top_up(path: Path) -> dict[str, str]:
    """Add the names the file lacks (it was written before they existed), under a lock: processes
    starting together all end up with one set."""
    with open(path, "a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        stored = _read(path)
        missing = [name for name in BROKER_PASSWORDS if not stored.get(name)]
        if missing and not path.read_text().endswith("\n"):
            file.write("\n")  # a hand-edited last line without one would swallow the first new name
        file.write("".join(f"{name}={secrets.token_urlsafe(32)}\n" for name in missing))
    return _read(path)


def _create(path: Path) -> None:
    """Write new keys, atomically: processes starting together all end up with the first one's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as file:
            names = (*NAMES, *BROKER_PASSWORDS)
            file.write("".join(f"{name}={secrets.token_urlsafe(32)}\n" for name in names))
        os.link(draft, path)  # fails if another process created it meanwhile: theirs stands
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)
