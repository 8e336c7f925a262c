"""The clients carry the caller's OpenTelemetry trace context: a recording server shows the wire."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextvars import Token

import grpc
import pytest
from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from engram_memory_client import AsyncEngramClient, EngramClient, memory_service_pb2 as pb

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7
TRACEPARENT = f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    def ping(request: pb.PingRequest, ctx: grpc.ServicerContext) -> pb.PingResponse:
        seen.append({key: str(value) for key, value in ctx.invocation_metadata()})
        return pb.PingResponse()

    handler = grpc.method_handlers_generic_handler(
        "engram.v1.MemoryService",
        {
            "Ping": grpc.unary_unary_rpc_method_handler(
                ping, request_deserializer=pb.PingRequest.FromString, response_serializer=pb.PingResponse.SerializeToString
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", seen
    server.stop(grace=None)


def _in_caller_span() -> Token[Context]:
    span = NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)))
    return context.attach(trace.set_span_in_context(span))


def test_sync_client_sends_traceparent(recorder: tuple[str, list[dict[str, str]]]) -> None:
    target, seen = recorder
    with EngramClient(target) as client:
        client.ping()
        token = _in_caller_span()
        try:
            client.ping()
        finally:
            context.detach(token)
    assert "traceparent" not in seen[0]
    assert seen[1]["traceparent"] == TRACEPARENT


async def test_async_client_sends_traceparent(recorder: tuple[str, list[dict[str, str]]]) -> None:
    target, seen = recorder
    async with AsyncEngramClient(target) as client:
        token = _in_caller_span()
        try:
            await client.ping()
        finally:
            context.detach(token)
    assert seen[0]["traceparent"] == TRACEPARENT
