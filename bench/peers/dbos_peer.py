"""The DBOS peer: PlaceOrder as a DBOS Transact workflow, behind a small HTTP front.

    python -m peers.dbos_peer --port PORT --database-url URL --system-database-url URL

One process, as DBOS is deployed: an HTTP server whose POST /orders starts the workflow (its id the
order's, so a repeated POST starts nothing new) and answers 201 once DBOS has recorded the start in its
system database; the workflow's steps are DBOS transactions on the application database, each recording
its output in the same transaction (exactly once). DBOS's defaults otherwise, except the isolation level:
READ COMMITTED rather than DBOS's default SERIALIZABLE, because every bench order debits one account and
SERIALIZABLE would abort most of them (our payments service takes the same row lock under READ
COMMITTED).

The HTTP front is the standard library's threading server, lighter than the FastAPI DBOS documents,
so if anything this flatters DBOS's CPU per saga.
"""

import argparse
import json
import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from dbos import DBOS, DBOSConfig, SetWorkflowID, SQLAlchemyDatasource

from peers import workload

ISOLATION: Final = "READ COMMITTED"


def postgresql_url(url: str) -> str:
    """SQLAlchemy wants the ``postgresql://`` scheme; devstack writes ``postgres://``."""
    return "postgresql://" + url.split("://", 1)[1]


def define(datasource: SQLAlchemyDatasource) -> Any:
    """The workflow and its transactions on ``datasource``; returns the workflow."""

    def execute(sql: str, params: dict[str, Any]) -> list[Any]:
        result = datasource.sql_session().connection().exec_driver_sql(sql, params)
        return list(result.fetchall()) if result.returns_rows else []

    @datasource.transaction(name="create_order", isolation_level=ISOLATION)
    def create_order(order_id: str, customer: str, total: str, country: str) -> None:
        workload.create_order(execute, order_id, customer, total, country)

    @datasource.transaction(name="authorize_payment", isolation_level=ISOLATION)
    def authorize_payment(order_id: str, customer: str, total: str) -> bool:
        return workload.authorize_payment(execute, order_id, customer, total)

    @datasource.transaction(name="schedule_shipment", isolation_level=ISOLATION)
    def schedule_shipment(order_id: str, country: str) -> bool:
        return workload.schedule_shipment(execute, order_id, country)

    @datasource.transaction(name="release_payment", isolation_level=ISOLATION)
    def release_payment(order_id: str) -> None:
        workload.release_payment(execute, order_id)

    @datasource.transaction(name="capture_payment", isolation_level=ISOLATION)
    def capture_payment(order_id: str) -> None:
        workload.capture_payment(execute, order_id)

    @datasource.transaction(name="decide", isolation_level=ISOLATION)
    def decide(order_id: str, status: str) -> None:
        workload.decide(execute, order_id, status)

    @DBOS.workflow(name="place_order")
    def place_order(order_id: str, customer: str, total: str, country: str) -> str:
        create_order(order_id, customer, total, country)
        if not authorize_payment(order_id, customer, total):
            decide(order_id, workload.REJECTED)
            return workload.REJECTED
        if not schedule_shipment(order_id, country):
            release_payment(order_id)
            decide(order_id, workload.REJECTED)
            return workload.REJECTED
        capture_payment(order_id)
        decide(order_id, workload.APPROVED)
        return workload.APPROVED

    return place_order


def serve(port: int, place_order: Any) -> None:
    class Orders(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the load's connection pool expects

        def do_POST(self) -> None:
            try:
                order = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                args = (order["id"], order["customer"], str(order["total"]), order["country"])
            except (ValueError, KeyError, TypeError):
                self.answer(
                    HTTPStatus.BAD_REQUEST, {"detail": "a JSON order with id, customer, total, country"}
                )
                return
            with SetWorkflowID(args[0]):
                DBOS.start_workflow(place_order, *args)
            self.answer(HTTPStatus.CREATED, {"id": args[0], "status": workload.PENDING})

        def answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request is the load's cost, not DBOS's

    server = ThreadingHTTPServer(("127.0.0.1", port), Orders)
    server.daemon_threads = True
    print(f"dbos peer: listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True, help="the application database (workload.SCHEMA)")
    parser.add_argument("--system-database-url", required=True, help="DBOS's own (created if missing)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config: DBOSConfig = {
        "name": "bench-peer",
        "system_database_url": postgresql_url(args.system_database_url),
        "log_level": "WARNING",
    }
    DBOS(config=config)
    place_order = define(SQLAlchemyDatasource.create(postgresql_url(args.database_url)))
    DBOS.launch()
    serve(args.port, place_order)


if __name__ == "__main__":
    main()
