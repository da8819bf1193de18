"""The request log: every request the fake received, and counts of them by verb and path.

Benchmarks count API requests per poll with it ("0 API requests per poll at steady state"):
take ``since = len(fake.requests)``, run the poll, then :func:`request_counts` or
:func:`count_requests` from ``since``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Request", "count_requests", "request_counts"]


@dataclass(eq=False)
class Request:
    """One request as received: unpacks as, and equals, ``(method, path, content_type, body)``.

    ``verb`` is what RBAC calls it (get, list, watch, create, update, patch, delete,
    deletecollection; ``get`` for discovery and other non-resource paths), ``resource`` the
    ``plural[/subresource]`` it named (None for non-resource paths), ``at_s`` when it arrived
    (``time.monotonic()``). They are not part of equality.
    """

    method: str
    path: str  # without the query string
    content_type: str | None
    body: Any  # parsed JSON, the raw text if it is not JSON, or None
    query: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None
    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    at_s: float = 0.0

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.path, self.content_type, self.body))

    def __getitem__(self, index: int) -> Any:
        return tuple(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Request):
            other = (*other, other.query, other.token)
            return (*self, self.query, self.token) == other
        return isinstance(other, tuple) and tuple(self) == other

    __hash__ = None  # type: ignore[assignment]  # bodies are dicts


def request_counts(requests: Sequence[Request], since: int = 0) -> Counter[tuple[str, str]]:
    """How many requests of each (verb, path) there are from ``requests[since]`` on."""
    return Counter((r.verb or r.method.lower(), r.path) for r in requests[since:])


def count_requests(
    requests: Sequence[Request],
    verb: str | None = None,
    *,
    method: str | None = None,
    path: str | None = None,
    since: int = 0,
) -> int:
    """How many requests from ``requests[since]`` on match ``verb``, ``method`` and ``path``
    (a regular expression searched in the path); None matches anything."""
    pattern = re.compile(path) if path else None
    return sum(
        1
        for r in requests[since:]
        if verb in (None, r.verb)
        and method in (None, r.method)
        and (pattern is None or pattern.search(r.path))
    )
