"""Benchmarks of the whole system (make bench); never part of make test."""
