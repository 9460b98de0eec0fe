"""Test fixtures for real PostgreSQL and a real broker, shared by every service's suite."""
