"""Developer tooling: run PostgreSQL, the broker and every service locally."""
