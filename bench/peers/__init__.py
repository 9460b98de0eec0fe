"""make bench's peers: the same PlaceOrder work written for what a user would pick instead of us.

- ``workload``: the rows and the SQL every peer runs (an order, a payment against an account's credit,
  a shipment, the decision), with the same refusals as ours;
- ``dbos_peer``: a DBOS Transact workflow on PostgreSQL, behind a small HTTP front;
- ``temporal_peer``: a Temporal workflow (Python SDK) on a Temporal server built from the Go module
  proxy (``make temporal``), with PostgreSQL as the server's persistence;
- ``load``: the open-loop load process for a peer (the same mix and timing as ``bench.load``);
- ``sweep``: a peer measured as ``bench.run`` measures us (rates, latency, CPU of every process,
  idle CPU, memory).
"""

PEERS = ("dbos", "temporal")
# What each peer's figures are of, written into the results next to them (docs/benchmarks.md says more).
PEER_DESCRIPTIONS = {
    "dbos": "DBOS Transact: one Python process (an HTTP front and the workflow's DBOS transactions), "
    "its system database and the workload's on this PostgreSQL server",
    "temporal": "Temporal: the Temporal server (PostgreSQL persistence and visibility on this server, "
    "4 history shards) and one Python worker process (the SDK's defaults, activities on psycopg2)",
}
