"""No shipped file is over MAX_LINES lines without a stated reason; the check finds one that is."""

from pathlib import Path

from devstack.file_sizes import MAX_LINES, oversized, shipped_roots


def test_no_shipped_file_is_too_long_without_a_reason() -> None:
    assert oversized(shipped_roots()) == []


def test_a_long_file_is_found_and_a_stated_reason_lets_it_be(tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001.py").write_text("x = 1\n" * (MAX_LINES + 1))  # generated: passed over
    assert oversized([tmp_path]) == [(long, MAX_LINES + 1)]
    long.write_text("# Size: one table of constants, read top to bottom\n" + long.read_text())
    assert oversized([tmp_path]) == []
