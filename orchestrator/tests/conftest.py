"""Fixtures of the orchestrator's tests."""

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper


@pytest.fixture
def on_place_order_v1(settings: SettingsWrapper) -> None:
    """New PlaceOrder sagas start on version 1 (one step at a time), which a deployment may still pick
    with SAGA_START_VERSIONS: the tests written for its steps keep specifying it."""
    settings.SAGA_START_VERSIONS = "place_order=1"
