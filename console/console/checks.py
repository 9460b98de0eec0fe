"""Start-up checks: outside debug mode the console refuses the public development keys, as its
siblings do (saga_common.checks). ``make up`` gives every process random local keys instead."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register, run_checks

from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY

STARTUP = "console_startup"


@register(STARTUP)
def no_public_keys_outside_debug(**kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    if settings.SECRET_KEY == DEV_SECRET_KEY:
        errors.append(
            Error(
                "DJANGO_SECRET_KEY is the public development key: anyone could forge a session",
                hint="set DJANGO_SECRET_KEY",
                id="console.E001",
            )
        )
    if settings.CONSOLE_DEV_SIGN_IN and settings.JWT_SIGNING_KEY == DEV_SIGNING_KEY:
        errors.append(
            Error(
                "CONSOLE_DEV_SIGN_IN mints tokens with the public development signing key",
                hint="set JWT_SIGNING_KEY, or turn dev sign-in off and put an identity-aware proxy in front",
                id="console.E002",
            )
        )
    return errors


def startup_errors() -> list[CheckMessage]:
    """What ``manage.py check`` would refuse, run where gunicorn starts the app (it runs no checks)."""
    return [message for message in run_checks(tags=[STARTUP]) if message.is_serious()]
