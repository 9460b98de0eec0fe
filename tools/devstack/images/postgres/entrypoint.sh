#!/bin/sh
# Initialise the cluster on first start (like the official image), then run PostgreSQL.
set -eu
BIN=/usr/lib/postgresql/15/bin
USER_NAME="${POSTGRES_USER:-postgres}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s' "${POSTGRES_PASSWORD:-postgres}" > /tmp/pwfile
  "$BIN/initdb" -D "$PGDATA" -U "$USER_NAME" --pwfile=/tmp/pwfile --auth=scram-sha-256 >/dev/null
  rm -f /tmp/pwfile
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "$USER_NAME" ]; then
    "$BIN/postgres" --single -D "$PGDATA" -j postgres <<SQL >/dev/null
CREATE DATABASE "$POSTGRES_DB";
SQL
  fi
fi
exec "$BIN/postgres" -D "$PGDATA" -k /var/run/postgresql
