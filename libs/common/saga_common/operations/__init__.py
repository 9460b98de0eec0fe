"""What an operator reads and does about messaging, the same in every service: the messaging health
(``health``: the worker's snapshot of its consumer lag, with the outbox and the dead letters read live)
and the dead letters (``dead_letters``: list, replay, discard). ``saga_common.web.operations`` serves
both under ``/api/v1/operations/``, to operators only.
"""
