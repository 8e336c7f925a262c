"""These tests call a real Engram server: `make test` starts one and passes its address."""

import os
import uuid

import pytest

from engram_memory_client import scope_pb2


@pytest.fixture(scope="session")
def target() -> str:
    address = os.environ.get("ENGRAM_TEST_ADDR")
    if not address:
        pytest.fail("ENGRAM_TEST_ADDR is not set: run these through `make test`, which starts Engram")
    return address


@pytest.fixture
def scope() -> scope_pb2.Scope:
    return scope_pb2.Scope(namespace="py-client", user_id=f"u-{uuid.uuid4()}")
