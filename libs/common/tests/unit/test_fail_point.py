"""The test-only fail point (``saga_common.faults``): on only for the listed types, only while its file
exists, and off when the environment does not set it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_common import faults
from saga_common.faults import InjectedFailure, arm_fail_point, fail_point


@pytest.fixture(autouse=True)
def disarm_afterwards() -> Iterator[None]:
    yield
    arm_fail_point({})


def test_a_listed_type_fails_while_the_file_exists_and_not_once_it_is_removed(tmp_path: Path) -> None:
    switch = tmp_path / "fail"
    arm_fail_point({"SAGA_FAIL_TYPES": "ScheduleShipment, ApproveOrder", "SAGA_FAIL_WHILE": str(switch)})
    fail_point("ScheduleShipment")  # no file yet: off
    switch.touch()
    with pytest.raises(InjectedFailure, match="ScheduleShipment failed on purpose"):
        fail_point("ScheduleShipment")
    with pytest.raises(InjectedFailure):
        fail_point("ApproveOrder")
    fail_point("RejectOrder")  # not listed
    switch.unlink()
    fail_point("ScheduleShipment")
    fail_point("ApproveOrder")


def test_without_a_file_named_a_listed_type_always_fails() -> None:
    arm_fail_point({"SAGA_FAIL_TYPES": "ApproveOrder"})
    with pytest.raises(InjectedFailure):
        fail_point("ApproveOrder")


def test_unset_it_is_off_and_reads_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    switch = tmp_path / "fail"
    switch.touch()
    arm_fail_point({"SAGA_FAIL_WHILE": str(switch)})  # a file, but no types
    assert faults._fail_types == frozenset()
    monkeypatch.setattr(faults.os.path, "exists", lambda _path: pytest.fail("the file was looked at"))
    fail_point("ApproveOrder")
    arm_fail_point({})
    fail_point("ApproveOrder")


def test_the_environment_is_read_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGA_FAIL_TYPES", "ApproveOrder")
    arm_fail_point()  # what the import does, with os.environ
    with pytest.raises(InjectedFailure):
        fail_point("ApproveOrder")
