from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import pytest

from engram_memory_client import (
    AsyncEngramClient,
    EngramClient,
    EngramError,
    long_term_pb2,
    memory_service_pb2 as pb,
    scope_pb2,
    short_term_pb2,
)


def test_every_rpc_sync(target: str, scope: scope_pb2.Scope) -> None:
    with EngramClient(target) as client:
        assert client.ping().server_time.seconds > 0
        appended = client.append_messages(
            pb.AppendMessagesRequest(
                scope=scope,
                session_id="s1",
                messages=[short_term_pb2.MessageInput(role=short_term_pb2.ROLE_USER, content="I prefer tea over coffee")],
            )
        )
        assert len(appended.message_ids) == 1
        assert client.get_messages(pb.GetMessagesRequest(scope=scope, session_id="s1")).messages[0].content == "I prefer tea over coffee"
        client.set_working(pb.SetWorkingRequest(scope=scope, task_id="t", entries={"plan": "brew"}))
        assert client.get_working(pb.GetWorkingRequest(scope=scope, task_id="t")).state.entries["plan"] == "brew"
        assert [s.task_id for s in client.list_working(pb.ListWorkingRequest(scope=scope)).states] == ["t"]
        events = list(client.assemble_context(pb.AssembleContextRequest(scope=scope, session_id="s1", task_id="t", query="tea", token_budget=300)))
        assert events[-1].WhichOneof("event") == "summary"
        assert sum(1 for e in events if e.WhichOneof("event") == "section") >= 2
        assert client.complete_task(pb.CompleteTaskRequest(scope=scope, task_id="t")).cleared_entries == 1
        ended = client.end_session(pb.EndSessionRequest(scope=scope, session_id="s1"))
        assert ended.message_count == 1 and ended.decisions[0].stored
        remembered = client.remember(
            pb.RememberRequest(scope=scope, type=long_term_pb2.MEMORY_TYPE_SEMANTIC, content="Lives in Porto")
        )
        recalled = client.recall(pb.RecallRequest(scope=scope, query="lives in Porto", top_k=3))
        assert recalled.memories[0].memory.id == remembered.memory.id
        usage = client.report_usage(pb.ReportUsageRequest(scope=scope, returned_ids=[remembered.memory.id], used_ids=[]))
        assert usage.precision == 0
        assert client.get_memory(pb.GetMemoryRequest(scope=scope, memory_id=remembered.memory.id)).memory.content == "Lives in Porto"
        assert client.evict_stale(pb.EvictStaleRequest(namespace=scope.namespace, user_id=scope.user_id, dry_run=True)).dry_run
        client.forget_memory(pb.ForgetMemoryRequest(scope=scope, memory_id=remembered.memory.id))
        assert client.forget_user(pb.ForgetUserRequest(scope=scope)).memories_deleted >= 1


def test_errors_carry_the_status_code(target: str, scope: scope_pb2.Scope) -> None:
    with EngramClient(target) as client:
        with pytest.raises(EngramError) as not_found:
            client.get_memory(pb.GetMemoryRequest(scope=scope, memory_id="missing"))
        assert not_found.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(EngramError) as invalid:
            client.recall(pb.RecallRequest(scope=scope, query="q", top_k=1000))
        assert invalid.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert invalid.value.message == "top_k: must be an integer from 1 to 100"


def test_oversized_request_is_refused_and_later_calls_succeed(target: str, scope: scope_pb2.Scope) -> None:
    with EngramClient(target) as client:
        with pytest.raises(EngramError) as refused:
            client.remember(
                pb.RememberRequest(scope=scope, type=long_term_pb2.MEMORY_TYPE_SEMANTIC, content="x" * (10 * 1024 * 1024))
            )
        assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert client.ping().server_time.seconds > 0


@pytest.fixture
def hanging_target() -> Iterator[str]:
    """A server whose Ping answers only after the test is over: a server that hangs."""
    release = threading.Event()

    def ping(request: pb.PingRequest, context: grpc.ServicerContext) -> pb.PingResponse:
        release.wait(30)
        return pb.PingResponse()

    handler = grpc.method_handlers_generic_handler(
        "engram.v1.MemoryService",
        {
            "Ping": grpc.unary_unary_rpc_method_handler(
                ping, request_deserializer=pb.PingRequest.FromString, response_serializer=pb.PingResponse.SerializeToString
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    release.set()
    server.stop(grace=None)


def test_deadline_expires(hanging_target: str) -> None:
    with EngramClient(hanging_target, timeout=0.2) as client:
        with pytest.raises(EngramError) as expired:
            client.ping()
        assert expired.value.code == grpc.StatusCode.DEADLINE_EXCEEDED


def test_unavailable_is_retried_then_raised() -> None:
    with EngramClient("127.0.0.1:1", retries=2, backoff=0.01, timeout=2) as client:
        with pytest.raises(EngramError) as unavailable:
            client.ping()
        assert unavailable.value.code == grpc.StatusCode.UNAVAILABLE


class _UnavailableEverywhere(grpc.GenericRpcHandler):
    """Answers every call with UNAVAILABLE, counting calls per method."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[bytes, bytes]:
        method: str = handler_call_details.method

        def unavailable(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.calls[method] = self.calls.get(method, 0) + 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "stub")

        return grpc.unary_unary_rpc_method_handler(unavailable)


@pytest.fixture
def unavailable_stub() -> Iterator[tuple[str, _UnavailableEverywhere]]:
    handler = _UnavailableEverywhere()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", handler
    server.stop(grace=None)


def test_only_idempotent_calls_are_retried(
    unavailable_stub: tuple[str, _UnavailableEverywhere], scope: scope_pb2.Scope
) -> None:
    address, handler = unavailable_stub
    with EngramClient(address, retries=2, backoff=0.01, timeout=5) as client:
        once: dict[str, Callable[[], object]] = {
            "EndSession": lambda: client.end_session(pb.EndSessionRequest(scope=scope, session_id="s")),
            "ForgetMemory": lambda: client.forget_memory(pb.ForgetMemoryRequest(scope=scope, memory_id="m")),
            "CompleteTask": lambda: client.complete_task(pb.CompleteTaskRequest(scope=scope, task_id="t")),
            "ForgetUser": lambda: client.forget_user(pb.ForgetUserRequest(scope=scope)),
            "Remember": lambda: client.remember(pb.RememberRequest(scope=scope, content="x")),
        }
        retried: dict[str, Callable[[], object]] = {
            "GetMessages": lambda: client.get_messages(pb.GetMessagesRequest(scope=scope, session_id="s")),
            "AppendMessages": lambda: client.append_messages(pb.AppendMessagesRequest(scope=scope, session_id="s")),
        }
        for call in [*once.values(), *retried.values()]:
            with pytest.raises(EngramError) as raised:
                call()
            assert raised.value.code == grpc.StatusCode.UNAVAILABLE
    prefix = "/engram.v1.MemoryService/"
    assert {name: handler.calls.get(prefix + name) for name in once} == {name: 1 for name in once}
    assert {name: handler.calls.get(prefix + name) for name in retried} == {name: 3 for name in retried}


async def test_async_client_retries_only_idempotent_calls(
    unavailable_stub: tuple[str, _UnavailableEverywhere], scope: scope_pb2.Scope
) -> None:
    address, handler = unavailable_stub
    async with AsyncEngramClient(address, retries=2, backoff=0.01, timeout=5) as client:
        with pytest.raises(EngramError):
            await client.forget_user(pb.ForgetUserRequest(scope=scope))
        with pytest.raises(EngramError):
            await client.get_memory(pb.GetMemoryRequest(scope=scope, memory_id="m"))
    assert handler.calls == {"/engram.v1.MemoryService/ForgetUser": 1, "/engram.v1.MemoryService/GetMemory": 3}


async def test_every_rpc_async(target: str, scope: scope_pb2.Scope) -> None:
    async with AsyncEngramClient(target) as client:
        assert (await client.ping()).server_time.seconds > 0
        await client.append_messages(
            pb.AppendMessagesRequest(
                scope=scope, session_id="s", messages=[short_term_pb2.MessageInput(role=short_term_pb2.ROLE_USER, content="hello there")]
            )
        )
        assert len((await client.get_messages(pb.GetMessagesRequest(scope=scope, session_id="s"))).messages) == 1
        await client.set_working(pb.SetWorkingRequest(scope=scope, task_id="t", entries={"k": "v"}))
        assert (await client.get_working(pb.GetWorkingRequest(scope=scope, task_id="t"))).state.entries == {"k": "v"}
        assert len((await client.list_working(pb.ListWorkingRequest(scope=scope))).states) == 1
        events = [e async for e in client.assemble_context(pb.AssembleContextRequest(scope=scope, session_id="s", token_budget=100))]
        assert events[-1].WhichOneof("event") == "summary"
        await client.complete_task(pb.CompleteTaskRequest(scope=scope, task_id="t"))
        assert (await client.end_session(pb.EndSessionRequest(scope=scope, session_id="s"))).message_count == 1
        memory = (
            await client.remember(pb.RememberRequest(scope=scope, type=long_term_pb2.MEMORY_TYPE_EPISODIC, content="Ran a marathon in May"))
        ).memory
        assert (await client.recall(pb.RecallRequest(scope=scope, query="marathon"))).memories[0].memory.id == memory.id
        await client.report_usage(pb.ReportUsageRequest(scope=scope, returned_ids=[memory.id], used_ids=[memory.id]))
        assert (await client.get_memory(pb.GetMemoryRequest(scope=scope, memory_id=memory.id))).memory.id == memory.id
        await client.evict_stale(pb.EvictStaleRequest(namespace=scope.namespace, user_id=scope.user_id, dry_run=True))
        await client.forget_memory(pb.ForgetMemoryRequest(scope=scope, memory_id=memory.id))
        with pytest.raises(EngramError) as gone:
            await client.get_memory(pb.GetMemoryRequest(scope=scope, memory_id=memory.id))
        assert gone.value.code == grpc.StatusCode.NOT_FOUND
        await client.forget_user(pb.ForgetUserRequest(scope=scope))


async def test_async_deadline_expires(hanging_target: str) -> None:
    async with AsyncEngramClient(hanging_target, timeout=0.2) as client:
        with pytest.raises(EngramError) as expired:
            await client.ping()
        assert expired.value.code == grpc.StatusCode.DEADLINE_EXCEEDED


def _lost_reply_target() -> str:
    """A server whose first append to each "lost-reply…" session applies, then answers UNAVAILABLE."""
    address = os.environ.get("ENGRAM_TEST_LOST_REPLY_ADDR")
    if not address:
        pytest.fail("ENGRAM_TEST_LOST_REPLY_ADDR is not set: run these through `make test`")
    return address


def _book_train(scope: scope_pb2.Scope, session_id: str) -> pb.AppendMessagesRequest:
    return pb.AppendMessagesRequest(
        scope=scope,
        session_id=session_id,
        messages=[short_term_pb2.MessageInput(role=short_term_pb2.ROLE_USER, content="Book the 8am train")],
    )


def test_retried_append_applies_once(scope: scope_pb2.Scope) -> None:
    with EngramClient(_lost_reply_target(), backoff=0.01) as client:
        request = _book_train(scope, "lost-reply-sync")
        answered = client.append_messages(request)
        assert answered.replayed
        assert request.idempotency_key == ""  # the caller's message is left as it was
        stored = client.get_messages(pb.GetMessagesRequest(scope=scope, session_id="lost-reply-sync")).messages
        assert [m.id for m in stored] == list(answered.message_ids)


async def test_async_retried_append_applies_once(scope: scope_pb2.Scope) -> None:
    async with AsyncEngramClient(_lost_reply_target(), backoff=0.01) as client:
        answered = await client.append_messages(_book_train(scope, "lost-reply-async"))
        assert answered.replayed
        stored = (await client.get_messages(pb.GetMessagesRequest(scope=scope, session_id="lost-reply-async"))).messages
        assert [m.id for m in stored] == list(answered.message_ids)


def _imported_homes() -> list[long_term_pb2.ImportedMemory]:
    """Newest first: Engram settles them by when they happened."""
    lisbon = long_term_pb2.ImportedMemory(type=long_term_pb2.MEMORY_TYPE_SEMANTIC, content="Lives in Lisbon", subject="home")
    lisbon.occurred_at.FromJsonString("2024-06-01T00:00:00Z")
    porto = long_term_pb2.ImportedMemory(type=long_term_pb2.MEMORY_TYPE_SEMANTIC, content="Lives in Porto", subject="home")
    porto.occurred_at.FromJsonString("2019-06-01T00:00:00Z")
    return [lisbon, porto]


def test_managing_memories_sync(target: str, scope: scope_pb2.Scope) -> None:
    with EngramClient(target) as client:
        imported = client.import_memories(pb.ImportMemoriesRequest(scope=scope, memories=_imported_homes()))
        # Settled by occurrence: Porto (2019) first, then Lisbon (2024) updates it in place.
        assert [r.outcome for r in imported.results] == [
            long_term_pb2.REMEMBER_OUTCOME_UPDATED,
            long_term_pb2.REMEMBER_OUTCOME_CREATED,
        ]
        lisbon = imported.results[0].memory_id
        assert imported.results[1].memory_id == lisbon
        history = client.memory_history(pb.MemoryHistoryRequest(scope=scope, memory_id=lisbon))
        assert history.memory.content == "Lives in Lisbon"
        assert [h.content for h in history.history] == ["Lives in Porto"]
        updated = client.update_memory(pb.UpdateMemoryRequest(scope=scope, memory_id=lisbon, importance=0.9))
        assert round(updated.memory.importance, 3) == 0.9
        ids: list[str] = []
        token = ""
        while True:
            page = client.list_memories(pb.ListMemoriesRequest(scope=scope, page_size=1, page_token=token))
            ids.extend(m.id for m in page.memories)
            token = page.next_page_token
            if not token:
                break
        assert ids == [lisbon]
        current = client.list_memories(pb.ListMemoriesRequest(scope=scope, filter=long_term_pb2.MemoryFilter(superseded=False)))
        assert [m.id for m in current.memories] == [lisbon]
        exported = [item.memory for item in client.export_user(pb.ExportUserRequest(scope=scope)) if item.WhichOneof("item") == "memory"]
        # Porto, then Lisbon as it was before the importance changed.
        assert [[h.content for h in e.history] for e in exported] == [["Lives in Porto", "Lives in Lisbon"]]


async def test_managing_memories_async(target: str, scope: scope_pb2.Scope) -> None:
    async with AsyncEngramClient(target) as client:
        imported = await client.import_memories(pb.ImportMemoriesRequest(scope=scope, memories=_imported_homes()))
        lisbon = imported.results[0].memory_id
        history = await client.memory_history(pb.MemoryHistoryRequest(scope=scope, memory_id=lisbon))
        assert [h.content for h in history.history] == ["Lives in Porto"]
        updated = await client.update_memory(pb.UpdateMemoryRequest(scope=scope, memory_id=lisbon, content="Lives in Lisbon, in Alfama"))
        assert updated.memory.content == "Lives in Lisbon, in Alfama"
        page = await client.list_memories(pb.ListMemoriesRequest(scope=scope, filter=long_term_pb2.MemoryFilter(subject="home")))
        assert [m.id for m in page.memories] == [lisbon]
        exported = [item async for item in client.export_user(pb.ExportUserRequest(scope=scope))]
        assert sum(1 for item in exported if item.WhichOneof("item") == "memory") == 1
