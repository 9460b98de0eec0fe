"""The GitHub Actions workflow runs the README's targets, and the linters `make lint` runs on it (it
cannot run here) catch what they are there for."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devstack.services import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
BIN = Path(sys.executable).parent


def lint(tool: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*tool, str(folder)], capture_output=True, text=True, timeout=120)


def test_the_workflow_runs_make_lint_and_make_test_and_builds_the_images() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "make lint" in steps
    assert "make test" in steps
    assert "make images" in steps
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()  # and so does the CI we run


def test_the_workflow_passes_actionlint_and_zizmor() -> None:
    assert lint([str(BIN / "actionlint")], WORKFLOW).returncode == 0
    assert lint([str(BIN / "zizmor"), "--offline"], WORKFLOW.parent).returncode == 0


@pytest.mark.parametrize(
    ("tool", "broken", "said"),
    [
        (
            "actionlint",
            ("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    timeout-minutes: soon"),
            "timeout",
        ),
        ("actionlint", ("needs: lint-and-test", "needs: no-such-job"), "no-such-job"),
        (
            "zizmor",
            ("        run: make lint", "        run: echo ${{ github.event.pull_request.title }}"),
            "template",
        ),
        ("zizmor", ("d23441a48e516b6c34aea4fa41551a30e30af803  # v6.1.0", "main"), "unpinned"),
    ],
)
def test_a_broken_workflow_is_caught(tmp_path: Path, tool: str, broken: tuple[str, str], said: str) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    copy = folder / "ci.yml"
    shutil.copy(WORKFLOW, copy)
    old, new = broken
    assert old in copy.read_text()
    copy.write_text(copy.read_text().replace(old, new, 1))
    command = [str(BIN / "actionlint")] if tool == "actionlint" else [str(BIN / "zizmor"), "--offline"]
    result = lint(command, copy if tool == "actionlint" else folder)
    assert result.returncode != 0
    assert said in (result.stdout + result.stderr).lower()
