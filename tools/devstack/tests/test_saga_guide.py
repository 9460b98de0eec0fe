"""docs/write-your-own-saga.md shows the real saga's code: every block marked ``<!-- from: <file> -->``
must be an excerpt of that file as it is, so the guide cannot drift from the code it teaches."""

import re
from pathlib import Path

import pytest

from devstack.services import REPO_ROOT

GUIDE = REPO_ROOT / "docs" / "write-your-own-saga.md"
EXCERPT = re.compile(r"<!-- from: (?P<path>\S+) -->\n```[a-z]*\n(?P<code>.*?)```", re.S)


def excerpts(text: str) -> list[tuple[str, str]]:
    return [(m["path"], m["code"]) for m in EXCERPT.finditer(text)]


def is_excerpt_of(code: str, source: str) -> bool:
    """Whether ``code``'s lines appear in ``source`` one after the other, as they are (blank lines,
    and the lines' right ends, aside)."""
    wanted = [line.rstrip() for line in code.splitlines() if line.strip()]
    lines = [line.rstrip() for line in source.splitlines() if line.strip()]
    return any(lines[i : i + len(wanted)] == wanted for i in range(len(lines) - len(wanted) + 1))


@pytest.mark.parametrize(("path", "code"), excerpts(GUIDE.read_text()), ids=lambda v: v if "/" in v else "")
def test_every_excerpt_in_the_guide_is_in_its_file(path: str, code: str) -> None:
    source = (REPO_ROOT / path).read_text()
    assert is_excerpt_of(code, source), f"this block of the guide is no longer in {path}:\n{code}"


def test_the_guide_has_excerpts_and_a_changed_one_is_caught() -> None:
    found = excerpts(GUIDE.read_text())
    assert len(found) >= 15
    path, code = found[0]
    source = Path(REPO_ROOT / path).read_text()
    assert is_excerpt_of(code, source)
    assert not is_excerpt_of(code.replace(".step(refund_payment)", ".step(refund_the_payment)"), source)
