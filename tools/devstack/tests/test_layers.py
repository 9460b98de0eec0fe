"""The layer contracts of `make lint` (.importlinter) hold, and catch what they are there to catch.

Each breach is made on a copy of the framework in a temporary folder, put first on the path, so
import-linter analyses the broken copy with the repository's own contracts.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.services import REPO_ROOT

FRAMEWORK = REPO_ROOT / "libs" / "common" / "saga_common"


def lint_imports(python_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{python_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("lint-imports")),
            "--config",
            str(REPO_ROOT / ".importlinter"),
            "--no-cache",
        ],
        cwd=python_path or REPO_ROOT,
        env=env if python_path else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_code_as_it_is_keeps_every_contract() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # the four-file circle this layout removed: the inbox reaching up to what operators read
        ("messaging/inbox.py", "from saga_common import monitoring", "saga_common is layered"),
        ("messaging/rules.py", "from saga_common.messaging import envelope", "messaging is layered"),
        ("errors.py", "from saga_common.web import errors", "No import circle anywhere"),
        ("sagas/run.py", "import shop_contracts", "never imports the domain"),
        ("web/auth.py", "import pytest", "dev-only code"),
    ],
)
def test_a_breach_breaks_its_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    copy = tmp_path / "saga_common"
    shutil.copytree(FRAMEWORK, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(f"{line}  # noqa\n{target.read_text()}")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    broken_section = result.stdout.split("Broken contracts")[-1]
    assert broken in broken_section, result.stdout[-3000:]
