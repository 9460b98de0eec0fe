"""The Temporal peer's workflow: PlaceOrder, its steps Temporal activities (``temporal_peer``).

Kept apart from the activities so that Temporal's workflow sandbox, which re-imports this module for
every run to keep workflows deterministic, imports nothing but the SDK.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

TASK_QUEUE = "place-order"
APPROVED, REJECTED = "APPROVED", "REJECTED"  # workload's, repeated: the sandbox imports nothing else
# Temporal's documented default retry policy (retry forever, from 1 s, doubling up to 100 s); a step
# that did not answer in 10 s is tried again.
STEP_TIMEOUT = timedelta(seconds=10)


@dataclass
class Order:
    id: str
    customer: str
    total: str
    country: str


@workflow.defn(name="PlaceOrder")
class PlaceOrder:
    @workflow.run
    async def run(self, order: Order) -> str:
        await self.step("create_order", order.id, order.customer, order.total, order.country)
        if not await self.step("authorize_payment", order.id, order.customer, order.total):
            await self.step("decide", order.id, REJECTED)
            return REJECTED
        if not await self.step("schedule_shipment", order.id, order.country):
            await self.step("release_payment", order.id)
            await self.step("decide", order.id, REJECTED)
            return REJECTED
        await self.step("capture_payment", order.id)
        await self.step("decide", order.id, APPROVED)
        return APPROVED

    @staticmethod
    async def step(name: str, *args: str) -> bool:
        result: bool = await workflow.execute_activity(
            name, args=list(args), start_to_close_timeout=STEP_TIMEOUT
        )
        return result
