"""The orchestrator's saga engine: the one instance every handler, service and sweep uses."""

from orchestrator.cancel_order import cancel_order
from orchestrator.place_order import place_order
from saga_common.sagas.engine import SagaEngine

engine = SagaEngine([place_order, cancel_order])
