"""Synchronous and asyncio clients of Engram's MemoryService.

Both have the same methods, one per RPC, taking the generated request
messages; the common calls (append_messages, remember, recall,
assemble_context) also take the request's fields as keyword arguments. They apply a default timeout, send a bearer token, retry
UNAVAILABLE with exponential backoff, carry the caller's OpenTelemetry trace
context, and raise EngramError. An append
whose reply was lost may have applied, so append_messages gives each call
an idempotency key (unless the caller set one) that every retry reuses:
the server applies it once.

Only calls a retry cannot turn into a different outcome are retried, as the
contract declares them (RETRIED_METHODS): the unary RPCs whose
idempotency_level is NO_SIDE_EFFECTS (reads) or IDEMPOTENT (set_working,
and append_messages, which is always keyed). The others may have applied
before the reply was lost; retried, they would store twice or answer
NOT_FOUND, so their UNAVAILABLE is raised to the caller.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
import grpc.aio
from google.protobuf import descriptor_pb2
from opentelemetry import propagate

from engram_memory_client.gen.engram.v1 import memory_service_pb2 as pb
from engram_memory_client.gen.engram.v1 import memory_service_pb2_grpc as pb_grpc

from .errors import EngramError
from .keyword_requests import build

_SERVICE = pb.DESCRIPTOR.services_by_name["MemoryService"]

RETRIED_METHODS: frozenset[str] = frozenset(
    method.name
    for method in _SERVICE.methods
    if not method.client_streaming
    and not method.server_streaming
    and method.GetOptions().idempotency_level != descriptor_pb2.MethodOptions.IDEMPOTENCY_UNKNOWN
)
"""The RPCs whose UNAVAILABLE is retried, read from the generated descriptors."""


def _keyed(request: pb.AppendMessagesRequest) -> pb.AppendMessagesRequest:
    """A copy of the request with an idempotency key; the caller's message is left as it was."""
    if request.idempotency_key:
        return request
    keyed = pb.AppendMessagesRequest()
    keyed.CopyFrom(request)
    keyed.idempotency_key = str(uuid.uuid4())
    return keyed


MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""The largest request Engram accepts; the channel refuses a larger one itself (RESOURCE_EXHAUSTED)."""

_CHANNEL_OPTIONS = (("grpc.max_send_message_length", MAX_REQUEST_BYTES),)


def _metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


def _with_trace_context(metadata: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The call's metadata plus the caller's current OpenTelemetry context (W3C traceparent,
    tracestate, baggage) through the globally configured propagator, so Engram's server span
    joins the caller's trace. With no active span, nothing is added."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return metadata + tuple(carrier.items())


class EngramClient:
    """A blocking client. Use as a context manager, or call close()."""

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        tls: grpc.ChannelCredentials | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.1,
    ) -> None:
        self._channel = (
            grpc.secure_channel(target, tls, options=_CHANNEL_OPTIONS)
            if tls
            else grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
        )
        self._stub = pb_grpc.MemoryServiceStub(self._channel)
        self._metadata = _metadata(token)
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff

    def __enter__(self) -> EngramClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, name: str, request: Any, timeout: float | None) -> Any:
        method: Callable[..., Any] = getattr(self._stub, name)
        retry = name in RETRIED_METHODS
        delay = self._backoff
        for attempt in range(self._retries + 1 if retry else 1):
            try:
                return method(request, timeout=self._timeout if timeout is None else timeout, metadata=_with_trace_context(self._metadata))
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or not retry or attempt == self._retries:
                    raise EngramError.from_rpc_error(error) from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def ping(self, *, timeout: float | None = None) -> pb.PingResponse:
        result: pb.PingResponse = self._call("Ping", pb.PingRequest(), timeout)
        return result

    def append_messages(self, request: pb.AppendMessagesRequest | None = None, *, timeout: float | None = None, **fields: Any) -> pb.AppendMessagesResponse:
        request = build(pb.AppendMessagesRequest, request, fields)
        result: pb.AppendMessagesResponse = self._call("AppendMessages", _keyed(request), timeout)
        return result

    def get_messages(self, request: pb.GetMessagesRequest, *, timeout: float | None = None) -> pb.GetMessagesResponse:
        result: pb.GetMessagesResponse = self._call("GetMessages", request, timeout)
        return result

    def end_session(self, request: pb.EndSessionRequest, *, timeout: float | None = None) -> pb.EndSessionResponse:
        result: pb.EndSessionResponse = self._call("EndSession", request, timeout)
        return result

    def set_working(self, request: pb.SetWorkingRequest, *, timeout: float | None = None) -> pb.SetWorkingResponse:
        result: pb.SetWorkingResponse = self._call("SetWorking", request, timeout)
        return result

    def get_working(self, request: pb.GetWorkingRequest, *, timeout: float | None = None) -> pb.GetWorkingResponse:
        result: pb.GetWorkingResponse = self._call("GetWorking", request, timeout)
        return result

    def list_working(self, request: pb.ListWorkingRequest, *, timeout: float | None = None) -> pb.ListWorkingResponse:
        result: pb.ListWorkingResponse = self._call("ListWorking", request, timeout)
        return result

    def complete_task(self, request: pb.CompleteTaskRequest, *, timeout: float | None = None) -> pb.CompleteTaskResponse:
        result: pb.CompleteTaskResponse = self._call("CompleteTask", request, timeout)
        return result

    def remember(self, request: pb.RememberRequest | None = None, *, timeout: float | None = None, **fields: Any) -> pb.RememberResponse:
        request = build(pb.RememberRequest, request, fields)
        result: pb.RememberResponse = self._call("Remember", request, timeout)
        return result

    def recall(self, request: pb.RecallRequest | None = None, *, timeout: float | None = None, **fields: Any) -> pb.RecallResponse:
        request = build(pb.RecallRequest, request, fields)
        result: pb.RecallResponse = self._call("Recall", request, timeout)
        return result

    def get_memory(self, request: pb.GetMemoryRequest, *, timeout: float | None = None) -> pb.GetMemoryResponse:
        result: pb.GetMemoryResponse = self._call("GetMemory", request, timeout)
        return result

    def forget_memory(self, request: pb.ForgetMemoryRequest, *, timeout: float | None = None) -> pb.ForgetMemoryResponse:
        result: pb.ForgetMemoryResponse = self._call("ForgetMemory", request, timeout)
        return result

    def forget_user(self, request: pb.ForgetUserRequest, *, timeout: float | None = None) -> pb.ForgetUserResponse:
        result: pb.ForgetUserResponse = self._call("ForgetUser", request, timeout)
        return result

    def report_usage(self, request: pb.ReportUsageRequest, *, timeout: float | None = None) -> pb.ReportUsageResponse:
        result: pb.ReportUsageResponse = self._call("ReportUsage", request, timeout)
        return result

    def evict_stale(self, request: pb.EvictStaleRequest, *, timeout: float | None = None) -> pb.EvictStaleResponse:
        result: pb.EvictStaleResponse = self._call("EvictStale", request, timeout)
        return result

    def memory_history(self, request: pb.MemoryHistoryRequest, *, timeout: float | None = None) -> pb.MemoryHistoryResponse:
        result: pb.MemoryHistoryResponse = self._call("MemoryHistory", request, timeout)
        return result

    def list_memories(self, request: pb.ListMemoriesRequest, *, timeout: float | None = None) -> pb.ListMemoriesResponse:
        """One page; pass next_page_token back for the next (empty on the last page)."""
        result: pb.ListMemoriesResponse = self._call("ListMemories", request, timeout)
        return result

    def update_memory(self, request: pb.UpdateMemoryRequest, *, timeout: float | None = None) -> pb.UpdateMemoryResponse:
        result: pb.UpdateMemoryResponse = self._call("UpdateMemory", request, timeout)
        return result

    def import_memories(self, request: pb.ImportMemoriesRequest, *, timeout: float | None = None) -> pb.ImportMemoriesResponse:
        result: pb.ImportMemoriesResponse = self._call("ImportMemories", request, timeout)
        return result

    def export_user(self, request: pb.ExportUserRequest, *, timeout: float | None = None) -> Iterator[pb.ExportUserResponse]:
        """Yields every memory, task and session of the user. Streams are not retried."""
        try:
            yield from self._stub.ExportUser(request, timeout=self._timeout if timeout is None else timeout, metadata=_with_trace_context(self._metadata))
        except grpc.RpcError as error:
            raise EngramError.from_rpc_error(error) from None

    def assemble_context(
        self, request: pb.AssembleContextRequest | None = None, *, timeout: float | None = None, **fields: Any
    ) -> Iterator[pb.AssembleContextResponse]:
        """Yields the sections in order, then the summary. Streams are not retried."""
        request = build(pb.AssembleContextRequest, request, fields)
        try:
            yield from self._stub.AssembleContext(request, timeout=self._timeout if timeout is None else timeout, metadata=_with_trace_context(self._metadata))
        except grpc.RpcError as error:
            raise EngramError.from_rpc_error(error) from None


class AsyncEngramClient:
    """An asyncio client (grpc.aio) with the same methods as EngramClient."""

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        tls: grpc.ChannelCredentials | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.1,
    ) -> None:
        self._channel = (
            grpc.aio.secure_channel(target, tls, options=_CHANNEL_OPTIONS)
            if tls
            else grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
        )
        self._stub = pb_grpc.MemoryServiceStub(self._channel)
        self._metadata = _metadata(token)
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff

    async def __aenter__(self) -> AsyncEngramClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, name: str, request: Any, timeout: float | None) -> Any:
        method: Callable[..., Any] = getattr(self._stub, name)
        retry = name in RETRIED_METHODS
        delay = self._backoff
        for attempt in range(self._retries + 1 if retry else 1):
            try:
                return await method(request, timeout=self._timeout if timeout is None else timeout, metadata=_with_trace_context(self._metadata))
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or not retry or attempt == self._retries:
                    raise EngramError.from_rpc_error(error) from None
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    async def ping(self, *, timeout: float | None = None) -> pb.PingResponse:
        result: pb.PingResponse = await self._call("Ping", pb.PingRequest(), timeout)
        return result

    async def append_messages(self, request: pb.AppendMessagesRequest | None = None, *, timeout: float | None = None, **fields: Any) -> pb.AppendMessagesResponse:
        request = build(pb.AppendMessagesRequest, request, fields)
        result: pb.AppendMessagesResponse = await self._call("AppendMessages", _keyed(request), timeout)
        return result

    async def get_messages(self, request: pb.GetMessagesRequest, *, timeout: float | None = None) -> pb.GetMessagesResponse:
        result: pb.GetMessagesResponse = await self._call("GetMessages", request, timeout)
        return result

    async def end_session(self, request: pb.EndSessionRequest, *, timeout: float | None = None) -> pb.EndSessionResponse:
        result: pb.EndSessionResponse = await self._call("EndSession", request, timeout)
        return result

    async def set_working(self, request: pb.SetWorkingRequest, *, timeout: float | None = None) -> pb.SetWorkingResponse:
        result: pb.SetWorkingResponse = await self._call("SetWorking", request, timeout)
        return result

    async def get_working(self, request: pb.GetWorkingRequest, *, timeout: float | None = None) -> pb.GetWorkingResponse:
        result: pb.GetWorkingResponse = await self._call("GetWorking", request, timeout)
        return result

    async def list_working(self, request: pb.ListWorkingRequest, *, timeout: float | None = None) -> pb.ListWorkingResponse:
        result: pb.ListWorkingResponse = await self._call("ListWorking", request, timeout)
        return result

    async def complete_task(self, request: pb.CompleteTaskRequest, *, timeout: float | None = None) -> pb.CompleteTaskResponse:
        result: pb.CompleteTaskResponse = await self._call("CompleteTask", request, timeout)
        return result

    async def remember(self, request: pb.RememberRequest | None = None, *, timeout: float | None = None, **fields: Any) -> pb.RememberResponse:
        request = build(pb.RememberRequest, request, fields)
        result: pb.RememberResponse = await self._call("Remember", request, timeout)
        return result

    async def recall(self, request: pb.RecallRequest | None = None, *, timeout: float | None = None, **fields: Any) -> pb.RecallResponse:
        request = build(pb.RecallRequest, request, fields)
        result: pb.RecallResponse = await self._call("Recall", request, timeout)
        return result

    async def get_memory(self, request: pb.GetMemoryRequest, *, timeout: float | None = None) -> pb.GetMemoryResponse:
        result: pb.GetMemoryResponse = await self._call("GetMemory", request, timeout)
        return result

    async def forget_memory(self, request: pb.ForgetMemoryRequest, *, timeout: float | None = None) -> pb.ForgetMemoryResponse:
        result: pb.ForgetMemoryResponse = await self._call("ForgetMemory", request, timeout)
        return result

    async def forget_user(self, request: pb.ForgetUserRequest, *, timeout: float | None = None) -> pb.ForgetUserResponse:
        result: pb.ForgetUserResponse = await self._call("ForgetUser", request, timeout)
        return result

    async def report_usage(self, request: pb.ReportUsageRequest, *, timeout: float | None = None) -> pb.ReportUsageResponse:
        result: pb.ReportUsageResponse = await self._call("ReportUsage", request, timeout)
        return result

    async def evict_stale(self, request: pb.EvictStaleRequest, *, timeout: float | None = None) -> pb.EvictStaleResponse:
        result: pb.EvictStaleResponse = await self._call("EvictStale", request, timeout)
        return result

    async def memory_history(self, request: pb.MemoryHistoryRequest, *, timeout: float | None = None) -> pb.MemoryHistoryResponse:
        result: pb.MemoryHistoryResponse = await self._call("MemoryHistory", request, timeout)
        return result

    async def list_memories(self, request: pb.ListMemoriesRequest, *, timeout: float | None = None) -> pb.ListMemoriesResponse:
        """One page; pass next_page_token back for the next (empty on the last page)."""
        result: pb.ListMemoriesResponse = await self._call("ListMemories", request, timeout)
        return result

    async def update_memory(self, request: pb.UpdateMemoryRequest, *, timeout: float | None = None) -> pb.UpdateMemoryResponse:
        result: pb.UpdateMemoryResponse = await self._call("UpdateMemory", request, timeout)
        return result

    async def import_memories(self, request: pb.ImportMemoriesRequest, *, timeout: float | None = None) -> pb.ImportMemoriesResponse:
        result: pb.ImportMemoriesResponse = await self._call("ImportMemories", request, timeout)
        return result

    async def export_user(
        self, request: pb.ExportUserRequest, *, timeout: float | None = None
    ) -> AsyncIterator[pb.ExportUserResponse]:
        """Yields every memory, task and session of the user. Streams are not retried."""
        call = self._stub.ExportUser(request, timeout=self._timeout if timeout is None else timeout, metadata=_with_trace_context(self._metadata))
        try:
            async for item in call:
                yield item
        except grpc.aio.AioRpcError as error:
            raise EngramError.from_rpc_error(error) from None

    async def assemble_context(
        self, request: pb.AssembleContextRequest | None = None, *, timeout: float | None = None, **fields: Any
    ) -> AsyncIterator[pb.AssembleContextResponse]:
        """Yields the sections in order, then the summary. Streams are not retried."""
        request = build(pb.AssembleContextRequest, request, fields)
        call = self._stub.AssembleContext(request, timeout=self._timeout if timeout is None else timeout, metadata=_with_trace_context(self._metadata))
        try:
            async for event in call:
                yield event
        except grpc.aio.AioRpcError as error:
            raise EngramError.from_rpc_error(error) from None
