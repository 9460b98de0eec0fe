"""Generate the machine-readable contract: a JSON Schema per message and an AsyncAPI document of the
topics (from shop_contracts), and each service's OpenAPI document (from its code, by drf-spectacular),
written to docs/contract/; and a page per saga definition version with its Mermaid diagram, written to
docs/sagas/, the newest PlaceOrder's also into the README (``make contract-docs``). A test
regenerates them and fails when the checked-in files drifted from the code; the typed client
(libs/client) is tested against the OpenAPI documents."""

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import yaml

import shop_contracts
from devstack.services import REPO_ROOT, SERVICES, Service
from saga_common.messaging.envelope import CONTENT_TYPE, SPEC_VERSION
from saga_common.messaging.message import Command, Event, Message, Reply, registered_messages
from shop_contracts.topics import WRITERS_AND_READERS

CONTRACT_DIR = REPO_ROOT / "docs" / "contract"
SCHEMA_DIR = CONTRACT_DIR / "schemas"
ASYNCAPI_FILE = CONTRACT_DIR / "asyncapi.yaml"
OPENAPI_DIR = CONTRACT_DIR / "openapi"
SAGA_DIR = REPO_ROOT / "docs" / "sagas"
README = REPO_ROOT / "README.md"
# The README's diagram of the saga new orders start on, between these lines (rewritten, not edited).
README_DIAGRAM = ("<!-- saga diagram: place_order (make contract-docs) -->", "<!-- end of saga diagram -->")
JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"

# The Kafka headers of every message (CloudEvents' binary content mode, plus the W3C trace context).
HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary content mode; the Kafka key is the order id.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_correlationid", "content-type"],
    "properties": {
        "ce_specversion": {"const": SPEC_VERSION},
        "ce_id": {"type": "string", "format": "uuid", "description": "unique per message; the inbox key"},
        "ce_source": {"type": "string", "maxLength": 255, "description": "the sending service, /<name>"},
        "ce_type": {"type": "string", "description": "<namespace>.<Name>.v<major>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_sagaid": {"type": "string", "maxLength": 64, "description": "the saga this message belongs to"},
        "ce_correlationid": {"type": "string", "maxLength": 64, "description": "the request that began it"},
        "ce_causationid": {"type": "string", "maxLength": 64, "description": "the message that caused it"},
        "content-type": {"const": CONTENT_TYPE},
        "traceparent": {
            "type": "string",
            "description": "W3C trace context: the span that sent the message (the relay's produce span)",
        },
        "tracestate": {"type": "string", "maxLength": 512, "description": "W3C trace context, vendor state"},
    },
}


def message_schema(cls: type[Message]) -> dict[str, Any]:
    """The JSON Schema of one message's data (its payload)."""
    (reference,), components = msgspec.json.schema_components([cls], ref_template="#/$defs/{name}")
    body = components[reference["$ref"].rsplit("/", 1)[1]]
    kind = "command" if issubclass(cls, Command) else "reply" if issubclass(cls, Reply) else "event"
    return {
        "$schema": JSON_SCHEMA,
        "$id": f"schemas/{cls.cloudevent_type()}.json",
        **body,
        "title": cls.cloudevent_type(),
        "x-kind": kind,
        "x-topic": cls.topic,
    }


def asyncapi_document() -> dict[str, Any]:
    """The topics as an AsyncAPI 3.0 document: channels, who sends and receives, every message."""
    by_topic: dict[str, list[type[Message]]] = {}
    for cls in registered_messages():
        by_topic.setdefault(cls.topic, []).append(cls)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic, (writers, readers) in WRITERS_AND_READERS.items():
        channel = _identifier(topic)
        channels[channel] = {
            "address": topic,
            "description": f"Written by {', '.join(writers)}; read by {', '.join(readers)}. "
            f"A message that cannot be handled goes to {topic}.dlq with the error.",
            "messages": {
                cls.__name__: {"$ref": f"#/components/messages/{cls.__name__}"} for cls in by_topic[topic]
            },
        }
        for reader in readers:
            operations[f"{reader}Receives{channel[0].upper()}{channel[1:]}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{reader} consumes {topic} through its inbox (each message applied once)",
            }
        for writer in writers:
            operations[f"{writer}Sends{channel[0].upper()}{channel[1:]}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{writer} sends to {topic} through its transactional outbox",
            }
    messages = {
        cls.__name__: {
            "name": cls.cloudevent_type(),
            "title": cls.__name__,
            "summary": _summary(cls),
            "contentType": CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
            "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": "the order id"}}},
        }
        for cls in registered_messages()
    }
    schemas = {"CloudEventHeaders": HEADERS_SCHEMA}
    for cls in registered_messages():
        schema = message_schema(cls)
        schemas[cls.__name__] = {k: v for k, v in schema.items() if not k.startswith("$")}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "The shop's messages",
            "version": _version(),
            "description": "Generated from shop_contracts by `make contract-docs`; do not edit by hand. "
            "Every message is a CloudEvents 1.0 event in Kafka binary content mode (docs/contract.md).",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": dict(sorted(operations.items())),
        "components": {"messages": messages, "schemas": schemas},
    }


@cache
def openapi_documents() -> dict[str, str]:
    """Each service's OpenAPI document as drf-spectacular generates it (its ``/api/schema/``), as JSON.

    Each service is its own Django project, so each is asked in a process of its own (all at once);
    read once per process.
    """
    running = {
        service.name: _manage(service, "spectacular", "--format", "openapi-json") for service in SERVICES
    }
    documents = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=300)
        if process.returncode != 0:
            raise RuntimeError(f"the OpenAPI schema of {name} could not be generated:\n{err[-2000:]}")
        documents[name] = json.dumps(json.loads(out), indent=2, ensure_ascii=False) + "\n"
    return documents


@cache
def saga_descriptions() -> list[dict[str, Any]]:
    """Every saga definition version the orchestrator registers, described (``describe_sagas``)."""
    orchestrator = next(service for service in SERVICES if service.name == "orchestrator")
    process = _manage(orchestrator, "describe_sagas")
    out, err = process.communicate(timeout=300)
    if process.returncode != 0:
        raise RuntimeError(f"the sagas could not be described:\n{err[-2000:]}")
    described: list[dict[str, Any]] = json.loads(out)
    return described


def saga_page(described: dict[str, Any], newest: int) -> str:
    """docs/sagas/<type>-v<version>.md: the diagram and the steps of one definition version."""
    name, version = described["type"], described["version"]
    status = (
        "New sagas start on this version."
        if described["starts_new_sagas"]
        else f"Registered for the sagas that still run it; new ones start on version {newest}."
    )
    rows = [
        "| # | step | command, to | with | compensation | keeps from the replies |",
        "|---|---|---|---|---|---|",
    ]
    for step in described["steps"]:
        siblings = next(group for group in described["groups"] if step["index"] in group)
        together = ", ".join(str(i) for i in siblings if i != step["index"])
        undo = step["compensation"]
        undone_by = f"`{undo['name']}` (`{undo['command']}`)" if undo else ""
        kept = ", ".join(f"`{reply}`" for reply in step["reply_hooks"])
        pivot = " (pivot)" if step["pivot"] else ""
        rows.append(
            f"| {step['index']} | `{step['name']}`{pivot} | `{step['command']}`, {step['participant']} "
            f"| {together} | {undone_by} | {kept} |"
        )
    final = described["on_compensated"]
    after = (
        f"Once every step that may have taken effect is compensated: `{final['name']}` "
        f"(`{final['command']}`)."
        if final
        else ""
    )
    return (
        f"# Saga `{name}`, version {version}\n\n"
        "Generated from the orchestrator's definitions by `make contract-docs`: do not edit by hand.\n"
        f'{status} Steps in one group ("with") are sent together and joined before the next.\n'
        "The dotted paths are the compensations, latest first; a refused step took no effect, so its own\n"
        "compensation is skipped.\n\n"
        f"```mermaid\n{described['mermaid']}```\n\n"
        + "\n".join(rows)
        + "\n"
        + (f"\n{after}\n" if after else "")
    )


def readme_with_diagram(text: str, described: dict[str, Any]) -> str:
    """The README with its PlaceOrder diagram block rewritten from ``described``."""
    start, end = README_DIAGRAM
    if start not in text or end not in text:
        raise RuntimeError(f"README.md has lost its diagram markers: {start} ... {end}")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    block = f"{start}\n```mermaid\n{described['mermaid']}```\n{end}"
    return before + block + after


def _manage(service: Service, *command: str) -> "subprocess.Popen[str]":
    # The service's own settings, whatever the caller's environment names (a test run's settings), and
    # the saga versions of its code, whatever the caller's SAGA_START_VERSIONS say.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": f"{service.module}.settings", "SAGA_START_VERSIONS": ""}
    return subprocess.Popen(
        [sys.executable, "manage.py", *command],
        cwd=service.directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rendered() -> dict[Path, str]:
    """Every generated file and its text."""
    files = {
        SCHEMA_DIR / f"{cls.cloudevent_type()}.json": json.dumps(message_schema(cls), indent=2) + "\n"
        for cls in registered_messages()
    }
    header = "# Generated from shop_contracts by `make contract-docs`: do not edit by hand.\n"
    files[ASYNCAPI_FILE] = header + yaml.safe_dump(asyncapi_document(), sort_keys=False, width=100)
    for name, document in openapi_documents().items():
        files[OPENAPI_DIR / f"{name}.json"] = document
    described = saga_descriptions()
    for one in described:
        newest = max(d["version"] for d in described if d["type"] == one["type"])
        files[SAGA_DIR / f"{one['type']}-v{one['version']}.md"] = saga_page(one, newest)
    place_order = next(d for d in described if d["type"] == "place_order" and d["starts_new_sagas"])
    files[README] = readme_with_diagram(README.read_text(), place_order)
    return files


def write() -> list[Path]:
    """Write the files (and remove those of messages or services that no longer exist); return what
    changed."""
    files = rendered()
    changed = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    for directory in (SCHEMA_DIR, OPENAPI_DIR, SAGA_DIR):
        directory.mkdir(parents=True, exist_ok=True)
    for path in changed:
        path.write_text(files[path])
    generated = set(SCHEMA_DIR.glob("*.json")) | set(OPENAPI_DIR.glob("*.json")) | set(SAGA_DIR.glob("*.md"))
    for stale in generated - set(files):
        stale.unlink()
        changed.append(stale)
    return changed


def _identifier(topic: str) -> str:
    first, *rest = topic.split(".")
    return first + "".join(part.capitalize() for part in rest)


def _summary(cls: type[Message]) -> str:
    kind = "Command" if issubclass(cls, Command) else "Event" if issubclass(cls, Event) else "Reply"
    doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    return f"{kind}. {doc}" if doc and not doc.startswith(cls.__name__ + "(") else kind


def _version() -> str:
    pyproject = (Path(shop_contracts.__file__).parents[1] / "pyproject.toml").read_text()
    return next(line.split('"')[1] for line in pyproject.splitlines() if line.startswith("version"))
