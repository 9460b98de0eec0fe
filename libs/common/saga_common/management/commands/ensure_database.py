from typing import Any

import psycopg2
from django.core.management.base import BaseCommand
from django.db import connection
from psycopg2 import sql


class Command(BaseCommand):
    help = (
        "Create this service's database if the server does not have it yet (as its owner's user, "
        "through the server's maintenance database). For compose and local set-ups; a cluster's "
        "databases are made by whoever runs PostgreSQL."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--maintenance-database", default="postgres")

    def handle(self, *args: Any, **options: Any) -> None:
        params = connection.get_connection_params()
        name = params.pop("database", None) or params.pop("dbname")
        server = psycopg2.connect(**{**params, "dbname": options["maintenance_database"]})
        server.autocommit = True
        try:
            with server.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    self.stdout.write(f"created database {name}")
                else:
                    self.stdout.write(f"database {name} exists")
        finally:
            server.close()
