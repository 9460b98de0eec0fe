"""The client against the services' checked-in OpenAPI documents (docs/contract/openapi, written by
``make contract-docs`` from the services' code, and kept from drifting by tools/devstack's test).

Every operation in ``saga_client.operations`` must exist with its method, path and operation id; every
field of its model must be in the schema of its answer, and every field of that schema in the model,
with a compatible type: string, integer, number, boolean, array, object; nullable or not; a
``date-time`` is a datetime, a ``uuid`` a UUID, a ``decimal`` a Decimal (money the schema calls a
plain string may be a Decimal too). Whether a field is required is not compared for answers: the
schema leaves out fields that always come (drf-spectacular marks a model field with a default as not
required); for the bodies the client sends, it is.
"""

import copy
import json
import typing
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from saga_client.models import Model, Order, OrderRequest
from saga_client.operations import OPERATIONS, SERVICES, Operation

OPENAPI_DIR = Path(__file__).resolve().parents[3] / "docs" / "contract" / "openapi"
# Formats that say more than "a string": a model field must read them as this type.
FORMATS: dict[str, type[mi.Type]] = {
    "date-time": mi.DateTimeType,
    "uuid": mi.UUIDType,
    "decimal": mi.DecimalType,
    "date": mi.DateType,
}
# Operations of the services the client does not offer (and why).
NOT_IN_THE_CLIENT = {"healthz_live_retrieve"}  # liveness is for the kubelet; ready() is the client's


def document(service: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
    return loaded


# --- the comparison ---------------------------------------------------------------------------


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema ``node`` stands for (references followed) and whether it allows null."""
    nullable = bool(node.get("nullable"))
    while True:
        if "$ref" in node:
            target: Any = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        elif len(node.get("allOf", ())) == 1:
            node = node["allOf"][0]
        elif "oneOf" in node or "anyOf" in node:
            options = [resolve(doc, option)[0] for option in node.get("oneOf") or node["anyOf"]]
            real = [o for o in options if o.get("type") != "null" and o.get("enum") != [None]]
            nullable = nullable or len(real) < len(options)
            # one type in several shapes (drf-spectacular's blank-or-bounded string) is that type
            shapes = {(o.get("type"), o.get("format")) for o in real}
            if len(shapes) != 1 or next(iter(shapes))[0] is None:
                return {"oneOf": real}, nullable
            node = real[0]
        else:
            return node, nullable or bool(node.get("nullable"))


def compare(model: mi.Type, node: dict[str, Any], doc: dict[str, Any], where: str) -> list[str]:
    """How the model type differs from the schema node (nothing: they agree)."""
    schema, schema_nullable = resolve(doc, node)
    model_nullable = isinstance(model, mi.UnionType) and any(isinstance(t, mi.NoneType) for t in model.types)
    if isinstance(model, mi.UnionType):
        others = [t for t in model.types if not isinstance(t, mi.NoneType)]
        if len(others) != 1:
            return [f"{where}: the model's union {model} has no schema counterpart"]
        model = others[0]
    problems = []
    if model_nullable != schema_nullable:
        says = "may" if schema_nullable else "may not"
        problems.append(f"{where}: the schema says it {says} be null, the model disagrees")
    kind, given_format = schema.get("type"), schema.get("format")
    if isinstance(model, mi.StructType):
        if kind != "object":
            return [*problems, f"{where}: the model has a struct, the schema a {kind}"]
        return problems + compare_struct(model, schema, doc, where)
    if isinstance(model, mi.VarTupleType | mi.ListType):
        if kind != "array":
            return [*problems, f"{where}: the model has an array, the schema a {kind}"]
        return problems + compare(model.item_type, schema.get("items", {}), doc, f"{where}[]")
    if isinstance(model, mi.DictType):
        if kind != "object":
            return [*problems, f"{where}: the model has an object, the schema a {kind}"]
        values = list(schema.get("properties", {}).items())
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            values.append(("*", extra))
        return problems + [
            p for name, value in values for p in compare(model.value_type, value, doc, f"{where}.{name}")
        ]
    expected = {
        mi.StrType: "string",
        mi.DecimalType: "string",
        mi.DateTimeType: "string",
        mi.UUIDType: "string",
        mi.DateType: "string",
        mi.IntType: "integer",
        mi.FloatType: "number",
        mi.BoolType: "boolean",
    }.get(type(model))
    if expected is None:
        return [*problems, f"{where}: the model's {model} has no schema counterpart"]
    if kind != expected:
        return [*problems, f"{where}: the schema has a {kind}, the model reads a {expected}"]
    required_type = FORMATS.get(given_format or "")
    if required_type is not None and not isinstance(model, required_type):
        problems.append(f"{where}: the schema's format {given_format} is read as {type(model).__name__}")
    if isinstance(model, mi.DateTimeType | mi.UUIDType | mi.DateType) and required_type is not type(model):
        problems.append(f"{where}: the model reads {type(model).__name__}, the schema has no such format")
    return problems


def compare_struct(
    model: mi.StructType, schema: dict[str, Any], doc: dict[str, Any], where: str, *, sent: bool = False
) -> list[str]:
    """Field by field, both ways; for a body the client sends, also which fields are required."""
    properties: dict[str, Any] = schema.get("properties", {})
    struct = typing.get_origin(model.cls) or model.cls  # Page[Order]: Page
    omitted_when_none = struct.__struct_config__.omit_defaults
    fields = {field.encode_name: field for field in model.fields}
    problems = [f"{where}.{name}: in the schema, not in the model" for name in properties.keys() - fields]
    problems += [f"{where}.{name}: in the model, not in the schema" for name in fields.keys() - properties]
    for name in sorted(properties.keys() & fields.keys()):
        field, field_type = fields[name], fields[name].type
        if omitted_when_none and field.default is None and isinstance(field_type, mi.UnionType):
            # None is never sent (omit_defaults): the field is optional, not nullable
            field_type = mi.UnionType(tuple(t for t in field_type.types if not isinstance(t, mi.NoneType)))
            if len(field_type.types) == 1:
                field_type = field_type.types[0]
        problems += compare(field_type, properties[name], doc, f"{where}.{name}")
        if sent and field.required != (name in schema.get("required", ())):
            problems.append(f"{where}.{name}: required in one and optional in the other")
    if sent:
        return problems + _nested_bodies(model, properties, doc, where)
    return problems


def _nested_bodies(
    model: mi.StructType, properties: dict[str, Any], doc: dict[str, Any], where: str
) -> list[str]:
    """Required-ness of the structs inside a body the client sends (the address, the items)."""
    problems = []
    for field in model.fields:
        inner, node = field.type, properties.get(field.encode_name)
        if isinstance(inner, mi.VarTupleType | mi.ListType) and node is not None:
            inner, node = inner.item_type, resolve(doc, node)[0].get("items")
        if isinstance(inner, mi.StructType) and node is not None:
            schema = resolve(doc, node)[0]
            problems += [
                p
                for p in compare_struct(inner, schema, doc, f"{where}.{field.encode_name}", sent=True)
                if "required" in p
            ]
    return problems


def success_schema(operation: dict[str, Any]) -> dict[str, Any]:
    (code,) = [code for code in operation["responses"] if code.startswith("2")]
    schema: dict[str, Any] = operation["responses"][code]["content"]["application/json"]["schema"]
    return schema


def conformance(op: Operation, doc: dict[str, Any]) -> list[str]:
    """How the operation ``op`` of the client differs from the service's document ``doc``."""
    described = doc["paths"].get(op.path, {}).get(op.method.lower())
    if described is None:
        return [f"{op.method} {op.path} is not in the schema"]
    problems = []
    if described["operationId"] != op.operation_id:
        problems.append(f"{op.method} {op.path} is {described['operationId']}, not {op.operation_id}")
    if op.response is not None:
        answer = mi.type_info(op.response)
        problems += compare(answer, success_schema(described), doc, op.operation_id)
    if op.request is not None:
        body = described["requestBody"]["content"]["application/json"]["schema"]
        sent = mi.type_info(op.request)
        assert isinstance(sent, mi.StructType)
        problems += compare_struct(sent, resolve(doc, body)[0], doc, f"{op.operation_id} body", sent=True)
    return problems


# --- the tests --------------------------------------------------------------------------------

CASES = [
    pytest.param(name, service, id=f"{name}-{service}")
    for name, op in OPERATIONS.items()
    for service in ([op.service] if op.service else SERVICES)
]


@pytest.mark.parametrize(("name", "service"), CASES)
def test_each_client_operation_is_in_its_service_schema(name: str, service: str) -> None:
    assert conformance(OPERATIONS[name], document(service)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_of_the_services_is_in_the_client(service: str) -> None:
    ids = {op["operationId"] for ops in document(service)["paths"].values() for op in ops.values()}
    offered = {op.operation_id for op in OPERATIONS.values() if op.service in (None, service)}
    assert ids - offered - NOT_IN_THE_CLIENT == set(), "add a ShopClient method (and its operations entry)"


# --- and the comparison catches what it is for -------------------------------------------------


def orders_document_without(field: str) -> dict[str, Any]:
    doc = copy.deepcopy(document("orders"))
    del doc["components"]["schemas"]["OrderOutput"]["properties"][field]
    return doc


def order_model(*, without: str = "", extra: str = "") -> Any:
    """A copy of Order with a field left out or one added (as a client out of step would have)."""
    fields: list[Any] = [(f.name, f.type) for f in msgspec.structs.fields(Order) if f.name != without]
    if extra:
        fields.append((extra, str))
    return msgspec.defstruct("Order", fields, bases=(Model,), frozen=True, kw_only=True)


def test_a_field_the_schema_lost_fails() -> None:
    problems = conformance(OPERATIONS["get_order"], orders_document_without("rejection_reason"))
    assert problems == ["orders_retrieve.rejection_reason: in the model, not in the schema"]


def test_a_field_the_model_lacks_fails() -> None:
    op = OPERATIONS["get_order"]
    lacking = Operation(op.service, op.method, op.path, op.operation_id, order_model(without="total"))
    assert conformance(lacking, document("orders")) == [
        "orders_retrieve.total: in the schema, not in the model"
    ]
    extra = Operation(op.service, op.method, op.path, op.operation_id, order_model(extra="note"))
    assert conformance(extra, document("orders")) == ["orders_retrieve.note: in the model, not in the schema"]


def test_an_incompatible_type_fails() -> None:
    doc = copy.deepcopy(document("orders"))
    properties = doc["components"]["schemas"]["OrderOutput"]["properties"]
    properties["total"] = {"type": "number"}  # money as a float
    properties["rejection_reason"].pop("nullable")  # and a reason that is always there
    properties["created_at"].pop("format")  # a time as any string
    assert conformance(OPERATIONS["get_order"], doc) == [
        "orders_retrieve.created_at: the model reads DateTimeType, the schema has no such format",
        "orders_retrieve.rejection_reason: the schema says it may not be null, the model disagrees",
        "orders_retrieve.total: the schema has a number, the model reads a string",
    ]


def test_a_changed_body_fails() -> None:
    doc = copy.deepcopy(document("orders"))
    doc["components"]["schemas"]["Input"]["required"].append("customer_id")
    doc["components"]["schemas"]["Address"]["required"].append("line2")
    assert conformance(OPERATIONS["place_order"], doc) == [
        "orders_create body.customer_id: required in one and optional in the other",
        "orders_create body.shipping_address.line2: required in one and optional in the other",
    ]
    assert OPERATIONS["place_order"].request is OrderRequest


def test_a_renamed_operation_or_path_fails() -> None:
    doc = copy.deepcopy(document("orchestrator"))
    doc["paths"]["/api/v1/sagas/counts"]["get"]["operationId"] = "sagas_counts_retrieve"
    assert conformance(OPERATIONS["saga_counts"], doc) == [
        "GET /api/v1/sagas/counts is sagas_counts_retrieve, not sagas_counts"
    ]
    del doc["paths"]["/api/v1/sagas/{saga_id}/retry"]
    assert conformance(OPERATIONS["retry_saga"], doc) == [
        "POST /api/v1/sagas/{saga_id}/retry is not in the schema"
    ]
