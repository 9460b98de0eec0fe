"""What every message contract is: a frozen msgspec Struct with a topic, a type and rules.

A system's contracts (this repository's are in ``shop_contracts``) subclass ``Command``, ``Event`` or
``Reply`` (or ``Refusal``, a reply that says no with a reason) and set two class variables:
``topic``, the base name of the Kafka topic it travels on, and ``namespace``, which with the class
name and ``version`` (the major version) makes its CloudEvents type:
``<namespace>.<ClassName>.v<version>``, e.g. ``sagaref.payments.AuthorizePayment.v1``.

Every concrete contract registers itself, so a receiver finds the class from the type on the wire
(``message_class_for``); an unknown type or an unsupported major version is refused, and the inbox
dead-letters the message. Within a major version a contract only gains optional fields, and a receiver
ignores fields it does not know (a tolerant reader), so senders and receivers can be deployed in any
order; anything else is a new major version.
"""

import re
from typing import Annotated, Any, ClassVar

import msgspec

from saga_common.messaging.rules import check_rules


class UnknownMessageType(LookupError):
    """A type that no contract here registered: a contract mismatch, never retried."""


class UnsupportedVersion(LookupError):
    """A known message type in a major version this code does not speak: never retried."""


_BY_NAME: dict[str, type["Message"]] = {}
_BY_QUALIFIED_NAME: dict[str, type["Message"]] = {}  # "<namespace>.<ClassName>"
_CLOUDEVENT_TYPE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]{1,200})\.v(?P<major>[1-9][0-9]{0,3})$")


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """Base of all contracts. Concrete ones set ``topic`` and ``namespace``."""

    topic: ClassVar[str] = ""
    namespace: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.topic and cls.namespace:
            _register(cls)

    def __post_init__(self) -> None:
        check_rules(self)  # the receiver dead-letters a message that breaks them, with the reason

    @classmethod
    def type_name(cls) -> str:
        """The short name the system records (saga history, steps, handler registries, logs)."""
        return cls.__name__

    @classmethod
    def cloudevent_type(cls) -> str:
        """The namespaced, versioned type on the wire (``ce_type``)."""
        return f"{cls.namespace}.{cls.__name__}.v{cls.version}"


class Event(Message, frozen=True, kw_only=True):
    """Something that happened in the sender's domain (past tense)."""


class Reply(Message, frozen=True, kw_only=True):
    """A participant's answer to a command; ``succeeded`` tells the saga which way to go."""

    succeeded: ClassVar[bool] = True


class Refusal(Reply, frozen=True, kw_only=True):
    """A participant's 'no', with the reason: a certain answer, never retried as a fault."""

    succeeded = False
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Command(Message, frozen=True, kw_only=True):
    """An instruction to one participant (imperative); ``outcomes`` are the replies it may answer with.

    ``refusal`` is the reply a participant sends when its domain refuses the command (a
    ``DomainError``; see ``saga_common.messaging.participant``); None for a command that cannot be
    refused.
    """

    outcomes: ClassVar[tuple[type[Reply], ...]] = ()
    refusal: ClassVar[type[Refusal] | None] = None


def _register(cls: type[Message]) -> None:
    qualified = f"{cls.namespace}.{cls.__name__}"
    for registry, key in ((_BY_NAME, cls.__name__), (_BY_QUALIFIED_NAME, qualified)):
        if key in registry and registry[key] is not cls:
            raise TypeError(f"two message contracts are named {key}")
        registry[key] = cls


def message_class(type_name: str) -> type[Message]:
    """The contract class for a short type name (as the saga history records it); KeyError if unknown."""
    return _BY_NAME[type_name]


def message_class_for(cloudevent_type: str) -> type[Message]:
    """The contract class for a CloudEvents type; refuse unknown types and unsupported major versions."""
    parsed = _CLOUDEVENT_TYPE.fullmatch(cloudevent_type)
    if parsed is None:
        raise UnknownMessageType(f"not a namespaced, versioned type: {cloudevent_type[:200]!r}")
    cls = _BY_QUALIFIED_NAME.get(parsed["name"])
    if cls is None:
        raise UnknownMessageType(f"no contract for {parsed['name']!r}")
    if int(parsed["major"]) != cls.version:
        raise UnsupportedVersion(
            f"{parsed['name']} v{parsed['major']} is not understood here (v{cls.version} is)"
        )
    return cls


def registered_messages() -> list[type[Message]]:
    """Every contract registered so far (those of the modules imported), by name."""
    return sorted(_BY_NAME.values(), key=lambda cls: cls.__name__)


def reply_classes() -> list[type[Reply]]:
    return [cls for cls in registered_messages() if issubclass(cls, Reply)]
