"""Outside debug mode the services refuse the keys published in this repository (system checks)."""

import pytest
from django.core.checks import run_checks
from pytest_django.fixtures import Settings as SettingsWrapper

from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY

OWN_KEY = "a-key-of-this-deployment-only-0123456789"


def startup_errors() -> set[str]:
    """The ids of the errors the web and the worker check before they serve."""
    messages = run_checks(tags=["saga_startup"], include_deployment_checks=True)
    return {message.id for message in messages if message.is_serious() and message.id}


@pytest.fixture
def deployed(settings: SettingsWrapper) -> SettingsWrapper:
    """Not in debug mode, with keys of its own: what a deployment looks like."""
    settings.DEBUG = False
    settings.SECRET_KEY = OWN_KEY
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": OWN_KEY}
    return settings


def test_a_deployment_with_its_own_keys_passes(deployed: SettingsWrapper) -> None:
    assert startup_errors() == set()


def test_the_development_signing_key_is_refused_outside_debug(deployed: SettingsWrapper) -> None:
    deployed.SIMPLE_JWT = {**deployed.SIMPLE_JWT, "SIGNING_KEY": DEV_SIGNING_KEY}
    assert startup_errors() == {"saga_common.E002"}


def test_the_development_secret_key_is_refused_outside_debug(deployed: SettingsWrapper) -> None:
    deployed.SECRET_KEY = DEV_SECRET_KEY
    assert startup_errors() == {"saga_common.E003"}


def test_debug_mode_may_use_the_development_keys(deployed: SettingsWrapper) -> None:
    deployed.DEBUG = True
    deployed.SECRET_KEY = DEV_SECRET_KEY
    deployed.SIMPLE_JWT = {**deployed.SIMPLE_JWT, "SIGNING_KEY": DEV_SIGNING_KEY}
    assert startup_errors() == set()


def test_with_an_identity_provider_the_signing_key_is_unused(deployed: SettingsWrapper) -> None:
    deployed.SIMPLE_JWT = {**deployed.SIMPLE_JWT, "SIGNING_KEY": DEV_SIGNING_KEY}
    deployed.JWT_JWKS_URL = "https://idp.example/.well-known/jwks.json"
    deployed.JWT_ISSUER = "https://idp.example/"
    deployed.JWT_AUDIENCE = "saga-api"
    assert startup_errors() == set()


@pytest.mark.parametrize(
    ("setting", "value"),
    [("JWT_ISSUER", ""), ("JWT_AUDIENCE", ""), ("JWT_ALGORITHMS", ["RS256", "HS256"])],
)
def test_an_identity_provider_needs_issuer_audience_and_public_key_algorithms(
    deployed: SettingsWrapper, setting: str, value: object
) -> None:
    deployed.JWT_JWKS_URL = "https://idp.example/.well-known/jwks.json"
    deployed.JWT_ISSUER = "https://idp.example/"
    deployed.JWT_AUDIENCE = "saga-api"
    deployed.JWT_ALGORITHMS = ["RS256", "ES256"]
    setattr(deployed, setting, value)
    assert startup_errors() == {"saga_common.E004"}


def test_a_sasl_protocol_without_a_user_is_refused(deployed: SettingsWrapper) -> None:
    deployed.KAFKA_SECURITY_PROTOCOL = "SASL_PLAINTEXT"
    deployed.KAFKA_SASL_USERNAME, deployed.KAFKA_SASL_PASSWORD = "orders", ""
    assert startup_errors() == {"saga_common.E006"}
    deployed.KAFKA_SASL_PASSWORD = "its-password"
    assert startup_errors() == set()
    deployed.KAFKA_SECURITY_PROTOCOL = "SASL-PLAINTEXT"  # a typo librdkafka would only log
    assert startup_errors() == {"saga_common.E006"}


def test_psycopg3_beside_psycopg2_is_refused(
    deployed: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what a shared environment with a package that needs psycopg 3 (DBOS, say) looks like to Django
    monkeypatch.setattr("saga_common.checks.is_psycopg3", lambda: True)
    assert startup_errors() == {"saga_common.E009"}
