"""Engram's Python client: `EngramClient` (blocking) and `AsyncEngramClient` (asyncio).

Every message and enum of the contract is importable from here
(`from engram_memory_client import EngramClient, MemoryType, Role, Scope`),
as are the exceptions, one per status a caller acts on.
"""

from engram_memory_client.gen.engram.v1 import (
    assembly_pb2,
    long_term_pb2,
    memory_service_pb2,
    scope_pb2,
    short_term_pb2,
    working_pb2,
)

from . import messages
from .client import AsyncEngramClient, EngramClient
from .errors import (
    AlreadyExistsError,
    CancelledError,
    DeadlineExceededError,
    EngramError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)
from .messages import *  # noqa: F403 (the contract's messages and enums, listed in messages.__all__)

__all__ = [
    "AlreadyExistsError",
    "AsyncEngramClient",
    "CancelledError",
    "DeadlineExceededError",
    "EngramClient",
    "EngramError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "assembly_pb2",
    "long_term_pb2",
    "memory_service_pb2",
    "scope_pb2",
    "short_term_pb2",
    "working_pb2",
]
__all__ += messages.__all__
