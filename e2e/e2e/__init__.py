"""Helpers for the end-to-end suites: REST clients and the invariant checks."""
