"""Django system checks for settings that would silently break a guarantee."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
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
