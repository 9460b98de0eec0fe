"""The orchestrator's saga engine: the one instance every handler, service and sweep uses."""

from orchestrator.place_order import place_order
from saga_common.sagas.engine import SagaEngine

engine = SagaEngine([place_order])
