"""docs/contract is what the contracts generate (no drift), and its schemas say what the code enforces."""

import json
from decimal import Decimal
from typing import Any

import jsonschema
import msgspec
import pytest
import yaml

import shop_contracts
from devstack import contract_docs
from devstack.services import SERVICES
from saga_common.messaging.message import registered_messages


def test_the_checked_in_contract_is_what_the_code_generates() -> None:
    drifted = [
        str(path.relative_to(contract_docs.REPO_ROOT))
        for path, text in contract_docs.rendered().items()
        if not path.exists() or path.read_text() != text
    ]
    assert drifted == [], "run `make contract-docs` and commit the result"
    on_disk = {p.name for p in contract_docs.SCHEMA_DIR.glob("*.json")}
    assert on_disk == {f"{cls.cloudevent_type()}.json" for cls in registered_messages()}
    openapi = {p.name for p in contract_docs.OPENAPI_DIR.glob("*.json")}
    assert openapi == {f"{service.name}.json" for service in SERVICES}  # one per service, no stale one


def test_a_changed_contract_is_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a contract whose rules changed in the code but not in the checked-in schema
    real = contract_docs.message_schema

    def changed(cls: type[Any]) -> dict[str, Any]:
        schema = real(cls)
        return {**schema, "required": []} if cls is shop_contracts.AuthorizePayment else schema

    monkeypatch.setattr(contract_docs, "message_schema", changed)
    drifted = [p.name for p, t in contract_docs.rendered().items() if p.read_text() != t]
    assert "sagaref.payments.AuthorizePayment.v1.json" in drifted


def test_a_changed_rest_api_is_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a service whose API gained a field in the code but not in the checked-in document
    real = contract_docs.openapi_documents()
    document = json.loads(real["payments"])
    document["components"]["schemas"]["AccountOutput"]["properties"]["held"] = {"type": "string"}
    changed = {**real, "payments": json.dumps(document, indent=2) + "\n"}
    monkeypatch.setattr(contract_docs, "openapi_documents", lambda: changed)
    drifted = [p.name for p, t in contract_docs.rendered().items() if p.read_text() != t]
    assert drifted == ["payments.json"]


def test_every_rest_operation_has_a_chosen_operation_id() -> None:
    # drf-spectacular's made-up ids (api_v1_orders_retrieve, with numeral suffixes on collisions) change
    # when a path does; clients (saga_client) name operations by these ids
    for service in SERVICES:
        document = json.loads((contract_docs.OPENAPI_DIR / f"{service.name}.json").read_text())
        ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
        assert len(ids) == len(set(ids)), service.name
        assert not [i for i in ids if i.startswith("api_")], service.name
        assert document["info"]["title"]


def schema_of(cls: type[Any]) -> dict[str, Any]:
    path = contract_docs.SCHEMA_DIR / f"{cls.cloudevent_type()}.json"
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_what_a_sender_builds_is_valid_by_its_schema() -> None:
    sent = shop_contracts.AuthorizePayment(customer_id="c-1", amount=Decimal("25.00"), currency="EUR")
    jsonschema.validate(json.loads(msgspec.json.encode(sent)), schema_of(shop_contracts.AuthorizePayment))


@pytest.mark.parametrize(
    "payload",
    [
        {"customer_id": "c-1", "amount": "-5.00", "currency": "EUR"},
        {"customer_id": "c-1", "amount": "0.00", "currency": "EUR"},
        {"customer_id": "c-1", "amount": "1.005", "currency": "EUR"},
        {"customer_id": "c-1", "amount": "5.00", "currency": "eur"},
        {"customer_id": "", "amount": "5.00", "currency": "EUR"},
        {"customer_id": "c" * 65, "amount": "5.00", "currency": "EUR"},
        {"customer_id": "c-1", "currency": "EUR"},
    ],
)
def test_the_code_and_the_schema_refuse_the_same_payloads(payload: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):  # the code, as a receiver decodes it
        msgspec.json.decode(json.dumps(payload), type=shop_contracts.AuthorizePayment)
    with pytest.raises(jsonschema.ValidationError):  # and the published schema
        jsonschema.validate(payload, schema_of(shop_contracts.AuthorizePayment))


def test_an_address_without_its_country_is_refused_by_both() -> None:
    payload = {"country": "DE", "address": {"city": "Berlin"}}
    with pytest.raises(msgspec.ValidationError, match="must name its country"):
        msgspec.json.decode(json.dumps(payload), type=shop_contracts.ScheduleShipment)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, schema_of(shop_contracts.ScheduleShipment))


def test_every_reference_in_the_asyncapi_document_resolves() -> None:
    document = yaml.safe_load(contract_docs.ASYNCAPI_FILE.read_text())
    assert document["asyncapi"] == "3.0.0"

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [r for value in node.values() for r in refs(value)]
        return [r for value in node for r in refs(value)] if isinstance(node, list) else []

    for reference in refs(document):
        target: Any = document
        for part in reference.removeprefix("#/").split("/"):
            target = target[part]
    carried = {name for channel in document["channels"].values() for name in channel["messages"]}
    assert carried == {cls.__name__ for cls in registered_messages()}  # every message travels somewhere
