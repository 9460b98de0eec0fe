"""Django system checks for settings that would silently break a guarantee.

Checks tagged ``STARTUP`` also run when a web or worker process starts
(``refuse_to_start_if_misconfigured``): gunicorn runs no system checks, and the key checks are
deployment checks, which no command but ``check --deploy`` runs, so that a developer's other
``manage.py`` commands keep working with the defaults.
"""

import importlib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register, run_checks
from django.core.exceptions import ImproperlyConfigured

from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY
from saga_common.messaging.kafka import uses_sasl

STARTUP = "saga_startup"
# Keys of an identity provider are public: an HMAC algorithm would let anyone sign with them.
PUBLIC_KEY_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}


@register(STARTUP)
def inbox_outlives_topics(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An inbox row pruned while its message can still be redelivered would let it apply twice."""
    if settings.INBOX_RETENTION_DAYS * 24 <= settings.KAFKA_TOPIC_RETENTION_HOURS:
        return [
            Error(
                f"INBOX_RETENTION_DAYS ({settings.INBOX_RETENTION_DAYS} days) must exceed the topics' "
                f"retention KAFKA_TOPIC_RETENTION_HOURS ({settings.KAFKA_TOPIC_RETENTION_HOURS} h), "
                "or a redelivered message could be applied twice",
                id="saga_common.E001",
            )
        ]
    return []


@register(STARTUP)
def sagas_outlive_topics(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A reply can come as late as the topics keep its command: a saga pruned before would not take
    it, and a step that succeeded after its saga gave up on it would not be undone."""
    if not apps.is_installed("saga_common.sagas"):
        return []
    if settings.SAGA_RETENTION_DAYS * 24 <= settings.KAFKA_TOPIC_RETENTION_HOURS:
        return [
            Error(
                f"SAGA_RETENTION_DAYS ({settings.SAGA_RETENTION_DAYS} days) must exceed the topics' "
                f"retention KAFKA_TOPIC_RETENTION_HOURS ({settings.KAFKA_TOPIC_RETENTION_HOURS} h), "
                "or a late reply could find its saga pruned",
                id="saga_common.E005",
            )
        ]
    return []


@register(STARTUP)
def database_driver_is_psycopg2(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Django takes psycopg 3 over psycopg2 whenever both are installed. The relay and the inbox are
    written for psycopg2 (its LISTEN connection is a psycopg2 one, and under psycopg 3 the relay's
    lock query reads the result of SET and fails each batch: nothing is ever published)."""
    if is_psycopg3():
        return [
            Error(
                "psycopg 3 is installed beside psycopg2, so Django uses it; this project runs on "
                "psycopg2: remove psycopg from this environment (uv sync --locked does)",
                id="saga_common.E009",
            )
        ]
    return []


def is_psycopg3() -> bool:
    """What Django's PostgreSQL backend decides: psycopg 3 whenever it imports."""
    try:
        importlib.import_module("psycopg")
    except ImportError:
        return False
    return True


@register(STARTUP, Tags.security, deploy=True)
def no_development_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The development keys are in this repository: with them anyone could mint an operator token."""
    if settings.DEBUG:
        return []
    errors: list[CheckMessage] = []
    # With an identity provider the shared key verifies nothing (HS256 tokens are refused).
    if not settings.JWT_JWKS_URL and settings.SIMPLE_JWT["SIGNING_KEY"] == DEV_SIGNING_KEY:
        errors.append(
            Error(
                "JWT_SIGNING_KEY is the development key, which anyone can read",
                hint="set JWT_SIGNING_KEY (or JWT_JWKS_URL), or DJANGO_DEBUG=true on a developer machine",
                id="saga_common.E002",
            )
        )
    if settings.SECRET_KEY == DEV_SECRET_KEY:
        errors.append(
            Error(
                "DJANGO_SECRET_KEY is the development key, which anyone can read",
                hint="set DJANGO_SECRET_KEY, or DJANGO_DEBUG=true on a developer machine",
                id="saga_common.E003",
            )
        )
    return errors


@register(STARTUP, Tags.security)
def identity_provider_is_pinned(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A provider signs tokens for many applications: without our audience and its issuer, a token
    it issued for any of them would be accepted here."""
    if not settings.JWT_JWKS_URL:
        return []
    problems = [name for name in ("JWT_ISSUER", "JWT_AUDIENCE") if not getattr(settings, name)]
    weak = sorted(set(settings.JWT_ALGORITHMS) - PUBLIC_KEY_ALGORITHMS)
    if not settings.JWT_ALGORITHMS or weak:
        problems.append(f"JWT_ALGORITHMS (only {', '.join(sorted(PUBLIC_KEY_ALGORITHMS))}; not {weak})")
    if not problems:
        return []
    return [
        Error(
            f"JWT_JWKS_URL is set, so these must be too: {'; '.join(problems)}",
            id="saga_common.E004",
        )
    ]


@register(STARTUP, Tags.security)
def broker_credentials_are_set(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A SASL protocol without a user would only fail at the first connection, in librdkafka's log."""
    protocol = settings.KAFKA_SECURITY_PROTOCOL.upper()
    if protocol not in {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}:
        return [Error(f"KAFKA_SECURITY_PROTOCOL={protocol!r} is not a Kafka protocol", id="saga_common.E006")]
    if not uses_sasl(protocol):
        return []
    missing = [name for name in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD") if not getattr(settings, name)]
    if not missing:
        return []
    return [
        Error(
            f"KAFKA_SECURITY_PROTOCOL is {protocol}, so these must be set: {', '.join(missing)}",
            hint="the service's user on the broker (docs/kafka.md, 'Who may do what')",
            id="saga_common.E006",
        )
    ]


def refuse_to_start_if_misconfigured() -> None:
    """Raise ImproperlyConfigured if a startup check fails (the web and the worker call it first)."""
    messages = run_checks(tags=[STARTUP], include_deployment_checks=True)
    errors = [message for message in messages if message.is_serious() and not message.is_silenced()]
    if errors:
        raise ImproperlyConfigured("refusing to start:\n" + "\n".join(str(error) for error in errors))
