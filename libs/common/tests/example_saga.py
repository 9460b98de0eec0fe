"""A saga shaped like PlaceOrder, for the engine's own tests (the real one lives in the orchestrator)."""

from dataclasses import dataclass
from decimal import Decimal

import shop_contracts as contracts
from saga_common.sagas.definition import Saga, branch


@dataclass
class Data:
    reason: str | None = None


def authorize(data: Data) -> contracts.AuthorizePayment:
    return contracts.AuthorizePayment(customer_id="c-1", amount=Decimal("9.99"), currency="EUR")


def void(data: Data) -> contracts.VoidPayment:
    return contracts.VoidPayment(customer_id="c-1", amount=Decimal("9.99"), currency="EUR")


def schedule(data: Data) -> contracts.ScheduleShipment:
    return contracts.ScheduleShipment(country="DE", address={"country": "DE"})


def cancel(data: Data) -> contracts.CancelShipment:
    return contracts.CancelShipment()


def capture(data: Data) -> contracts.CapturePayment:
    return contracts.CapturePayment()


def approve(data: Data) -> contracts.ApproveOrder:
    return contracts.ApproveOrder()


def reject(data: Data) -> contracts.RejectOrder:
    return contracts.RejectOrder(reason=data.reason or "?")


def remember_reason(data: Data, reply: contracts.PaymentCaptureFailed) -> None:
    data.reason = reply.reason


def example_saga() -> Saga[Data]:
    return (
        Saga("example", Data, version=1)
        .step(authorize, compensate=void)
        .step(schedule, compensate=cancel)
        .pivot(capture, on_reply={contracts.PaymentCaptureFailed: remember_reason})
        .step(approve)
        .on_compensated(reject)
    )


def example_parallel_saga(version: int = 1) -> Saga[Data]:
    """The example with its first two steps sent at once and joined before the pivot."""
    return (
        Saga("example", Data, version=version)
        .parallel(branch(authorize, compensate=void), branch(schedule, compensate=cancel))
        .pivot(capture, on_reply={contracts.PaymentCaptureFailed: remember_reason})
        .step(approve)
        .on_compensated(reject)
    )
