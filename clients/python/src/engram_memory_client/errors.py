"""The Engram client's exceptions: `EngramError`, and one subclass per status a caller acts on."""

from __future__ import annotations

import grpc


class EngramError(Exception):
    """Is raised when a call fails; `code` is the gRPC status code.

    `code` tells what to do: INVALID_ARGUMENT (the message names the field),
    NOT_FOUND, RESOURCE_EXHAUSTED, PERMISSION_DENIED, UNAVAILABLE (safe to
    retry), DEADLINE_EXCEEDED. Catch a subclass (`NotFoundError`, ...) to act
    on one status, or `EngramError` for all of them.
    """

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> EngramError:
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = error.details() if hasattr(error, "details") else str(error)
        return _BY_CODE.get(code, EngramError)(code, details or "")


class InvalidArgumentError(EngramError):
    """Is raised when a request is invalid; the message names the field."""


class NotFoundError(EngramError):
    """Is raised when the session, task or memory named does not exist."""


class AlreadyExistsError(EngramError):
    """Is raised when what the call would create already exists."""


class PermissionDeniedError(EngramError):
    """Is raised when the caller's token may not do this (namespace or permission)."""


class UnauthenticatedError(EngramError):
    """Is raised when the server requires a token and none, or an unknown one, was sent."""


class ResourceExhaustedError(EngramError):
    """Is raised when a limit is reached (size, per-user quota, rate); the message names it."""


class FailedPreconditionError(EngramError):
    """Is raised when the server's state refuses the call (e.g. an embedder mismatch)."""


class UnavailableError(EngramError):
    """Is raised when the server or a backend could not be reached; safe to retry later."""


class DeadlineExceededError(EngramError):
    """Is raised when the call's timeout passed first."""


class CancelledError(EngramError):
    """Is raised when the call was cancelled."""


class InternalError(EngramError):
    """Is raised on a server fault; the server's log has the cause."""


_BY_CODE: dict[grpc.StatusCode, type[EngramError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.INTERNAL: InternalError,
}
