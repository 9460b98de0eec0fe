"""What the code tells an operator as it runs: ``logs`` (JSON lines carrying the ids of the request
or message) and ``metrics`` (counters and histograms, updated where things happen).

Both import nothing else of saga_common, so messaging and sagas can use them. What an operator reads on
demand (outbox backlog, consumer lag, dead letters, the metrics endpoint) reads the messaging tables and
the broker, so it sits above messaging, in ``saga_common.monitoring``.
"""
