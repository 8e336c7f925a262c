"""Engram's Python client: `EngramClient` (blocking) and `AsyncEngramClient` (asyncio)."""

from engram_memory_client.gen.engram.v1 import (
    assembly_pb2,
    long_term_pb2,
    memory_service_pb2,
    scope_pb2,
    short_term_pb2,
    working_pb2,
)

from .client import AsyncEngramClient, EngramClient
from .errors import EngramError

__all__ = [
    "AsyncEngramClient",
    "EngramClient",
    "EngramError",
    "assembly_pb2",
    "long_term_pb2",
    "memory_service_pb2",
    "scope_pb2",
    "short_term_pb2",
    "working_pb2",
]
