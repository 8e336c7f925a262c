"""The package's idioms: contract types at the top level, keyword calls, an exception per status."""

import grpc
import pytest

import engram_memory_client
from engram_memory_client import (
    AsyncEngramClient,
    EngramClient,
    EngramError,
    InvalidArgumentError,
    MemoryType,
    MessageInput,
    NotFoundError,
    RecallRequest,
    RememberOutcome,
    Role,
    Scope,
    UnavailableError,
)
from engram_memory_client.gen.engram.v1 import (
    assembly_pb2,
    long_term_pb2,
    memory_service_pb2,
    scope_pb2,
    short_term_pb2,
    working_pb2,
)


def test_every_message_and_enum_is_importable_from_the_top_level() -> None:
    for module in (assembly_pb2, long_term_pb2, memory_service_pb2, scope_pb2, short_term_pb2, working_pb2):
        names = list(module.DESCRIPTOR.message_types_by_name) + list(module.DESCRIPTOR.enum_types_by_name)
        for name in names:
            assert getattr(engram_memory_client, name) is getattr(module, name), name
            assert name in engram_memory_client.__all__, name


def test_keyword_calls_and_typed_exceptions(target: str, scope: scope_pb2.Scope) -> None:
    scope = Scope(namespace=scope.namespace, user_id=scope.user_id)
    with EngramClient(target) as engram:
        appended = engram.append_messages(
            scope=scope, session_id="s1", messages=[MessageInput(role=Role.ROLE_USER, content="I'm flying to Lisbon")]
        )
        assert len(appended.message_ids) == 1
        remembered = engram.remember(scope=scope, type=MemoryType.MEMORY_TYPE_PREFERENCE, content="Prefers aisle seats")
        assert remembered.outcome == RememberOutcome.REMEMBER_OUTCOME_CREATED
        recalled = engram.recall(scope=scope, query="seat preference", top_k=3)
        assert [r.memory.content for r in recalled.memories] == ["Prefers aisle seats"]
        # The request object and its fields as keywords are the same call; both at once is a mistake.
        # (Each recall gets its own retrieval_id, for ReportUsage, and may see the first one's access counted:
        # which memories, in which order, is what must match.)
        again = engram.recall(RecallRequest(scope=scope, query="seat preference", top_k=3))
        assert [r.memory.id for r in again.memories] == [r.memory.id for r in recalled.memories]
        with pytest.raises(TypeError, match="not both"):
            engram.recall(RecallRequest(scope=scope, query="q"), top_k=3)
        events = list(engram.assemble_context(scope=scope, session_id="s1", query="book a flight", token_budget=2000))
        assert events[-1].HasField("summary")

        with pytest.raises(NotFoundError) as missing:
            engram.get_memory(memory_service_pb2.GetMemoryRequest(scope=scope, memory_id="missing"))
        assert isinstance(missing.value, EngramError)
        assert missing.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(InvalidArgumentError, match="top_k: must be an integer from 1 to 100"):
            engram.recall(scope=scope, query="q", top_k=1000)


async def test_async_keyword_calls_and_typed_exceptions(target: str, scope: scope_pb2.Scope) -> None:
    async with AsyncEngramClient(target) as engram:
        await engram.remember(scope=scope, type=MemoryType.MEMORY_TYPE_SEMANTIC, content="Works at Acme")
        recalled = await engram.recall(scope=scope, query="Where does the user work? Acme")
        assert [r.memory.content for r in recalled.memories] == ["Works at Acme"]
        events = [e async for e in engram.assemble_context(scope=scope, query="Acme", token_budget=500)]
        assert events[-1].HasField("summary")
        with pytest.raises(InvalidArgumentError):
            await engram.recall(scope=scope, query="q", top_k=1000)


def test_unavailable_is_its_own_exception() -> None:
    with EngramClient("127.0.0.1:1", retries=0, timeout=5) as engram:
        with pytest.raises(UnavailableError):
            engram.ping()
