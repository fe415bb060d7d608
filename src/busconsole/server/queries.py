"""The last query run for each entity: what SUBSCRIBE and STORE_UPDATE re-evaluate.

Entity names come from clients, so the table is bounded: past ``max_entities`` the least
recently used name is forgotten (its store falls back to every row of its kind, as if it
had never been queried). An index by kind lets a mutation find the stores reading that
kind without scanning every entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

Query = dict[str, Any]
MAX_ENTITIES = 4096


class RefreshQueries:
    """entity (lowercase) -> its last successful query, LRU-bounded; safe across threads."""

    def __init__(self, max_entities: int = MAX_ENTITIES) -> None:
        self.max_entities = max_entities
        self._queries: OrderedDict[str, Query] = OrderedDict()
        self._by_kind: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def get(self, entity: str) -> Query | None:
        key = entity.lower()
        with self._lock:
            query = self._queries.get(key)
            if query is not None:
                self._queries.move_to_end(key)
            return query

    def put(self, entity: str, query: Query) -> None:
        key = entity.lower()
        with self._lock:
            self._forget(key)
            self._queries[key] = query
            self._by_kind.setdefault(_kind(query), set()).add(key)
            while len(self._queries) > self.max_entities:
                self._forget(next(iter(self._queries)))

    def readers(self, kind: str) -> set[str]:
        """The entities whose last query reads ``kind``."""
        with self._lock:
            return set(self._by_kind.get(kind.lower(), ()))

    def __len__(self) -> int:
        return len(self._queries)

    def __contains__(self, entity: object) -> bool:
        return isinstance(entity, str) and entity.lower() in self._queries

    def _forget(self, key: str) -> None:
        query = self._queries.pop(key, None)
        if query is None:
            return
        kind = _kind(query)
        readers = self._by_kind.get(kind)
        if readers is not None:
            readers.discard(key)
            if not readers:
                del self._by_kind[kind]


def _kind(query: Query) -> str:
    return str(query.get("kind", "")).lower()
