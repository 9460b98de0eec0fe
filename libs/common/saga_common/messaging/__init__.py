"""Messages between services, with no distributed transaction: CloudEvents on Kafka, a transactional
outbox and its relay, an inbox consumer that applies each message once, and dead letters.

Read it bottom up: ``rules`` and ``message`` (what a contract is), ``envelope`` (a message on the
wire), ``kafka`` (clients and topics), ``outbox`` and ``relay`` (sending), ``inbox``, ``consumer`` and
``progress`` (receiving), ``participant`` (answering a command), ``retention`` (pruning).
"""
