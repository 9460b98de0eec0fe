"""The saga engine: definitions that read as their steps, state persisted in the orchestrator's database.

Install ``saga_common.sagas`` in the orchestrator's INSTALLED_APPS; build sagas with ``Saga`` and run
them with ``SagaEngine``.
"""
