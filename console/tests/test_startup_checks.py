from typing import Any

from django.core.checks import run_checks

from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY


def ids(**kwargs: Any) -> set[str]:
    return {message.id for message in run_checks() if message.id}


def test_the_public_development_keys_are_refused_outside_debug(settings: Any) -> None:
    settings.DEBUG = False
    settings.SECRET_KEY = DEV_SECRET_KEY
    settings.CONSOLE_DEV_SIGN_IN = True
    settings.JWT_SIGNING_KEY = DEV_SIGNING_KEY
    assert {"console.E001", "console.E002"} <= ids()


def test_local_keys_pass(settings: Any) -> None:
    settings.DEBUG = False
    settings.SECRET_KEY = "a-local-random-secret-key-for-this-test-only"
    settings.JWT_SIGNING_KEY = "a-local-random-signing-key-for-this-test"
    settings.CONSOLE_DEV_SIGN_IN = True
    assert not {"console.E001", "console.E002"} & ids()
