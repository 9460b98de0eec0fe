"""The orchestrator's saga engine: the one instance every handler, service and sweep uses.

It holds every saga definition version a saga in the database may still run: a version leaves this
list only once no saga runs it (docs/operations.md, "Saga versions"; the start-up check refuses an
orchestrator without one that is still needed). New sagas start on each saga's newest version unless
``SAGA_START_VERSIONS`` says otherwise.
"""

from orchestrator.cancel_order import cancel_order
from orchestrator.place_order import place_order_v1, place_order_v2
from saga_common.sagas.engine import SagaEngine

engine = SagaEngine([place_order_v1, place_order_v2, cancel_order])
