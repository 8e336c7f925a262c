"""The one error type of the Engram client."""

from __future__ import annotations

import grpc


class EngramError(Exception):
    """Is raised when a call fails; `code` is the gRPC status code.

    `code` tells what to do: INVALID_ARGUMENT (the message names the field),
    NOT_FOUND, RESOURCE_EXHAUSTED, PERMISSION_DENIED, UNAVAILABLE (safe to
    retry), DEADLINE_EXCEEDED.
    """

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> EngramError:
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = error.details() if hasattr(error, "details") else str(error)
        return cls(code, details or "")
