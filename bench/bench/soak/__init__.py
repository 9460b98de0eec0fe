"""make soak: the whole stack at about half of its measured capacity for half an hour, watched for drift.

``run`` starts the stack and the load and samples everything, ``probes`` reads the processes and the
databases, ``orders`` offers the load in one-minute chunks (``feed``, each a ``bench.load`` process) and
reads when each order was decided, ``figures`` and ``checks`` turn the samples into a table and a
verdict (no I/O), ``plot`` draws them.
"""
