"""Keyword-argument calls: `client.remember(scope=..., content=...)` beside `client.remember(RememberRequest(...))`."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


def build(cls: type[M], request: M | None, fields: dict[str, Any]) -> M:
    """The request given, or one built from the keyword fields (the request's own field names)."""
    if request is not None:
        if fields:
            raise TypeError(f"pass a {cls.__name__} or its fields as keywords, not both (got {sorted(fields)})")
        return request
    return cls(**fields)
