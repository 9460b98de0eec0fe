"""Shared building blocks of the saga services.

Libraries are imported, never run: nothing in here imports a service.
"""
