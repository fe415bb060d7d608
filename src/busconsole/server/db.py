"""The reference server's entity store: rows as JSON documents in SQLite, cached in memory.

Rows are documents (one table for every kind) because the bus carries free-form
entities and a debugger's test server should accept any field. Reads come from
the in-memory copy so queries stay cheap; every mutation is written through and
committed at once, so a file database survives a stop or a crash.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from busconsole.server.stellar import Row

SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, id)
)
"""


class MutationError(ValueError):
    """A mutation that cannot be applied (missing id, no such row); the message goes to the client."""


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


# SQLite stores 64-bit signed integers; anything outside would fail inside the driver.
ID_MIN, ID_MAX = -(2**63), 2**63 - 1
_DIGITS = re.compile(r"-?[0-9]+")


def row_id(value: Any) -> int:
    """An entity id as stored: a 64-bit integer; ASCII digit strings from the command line
    are accepted. Anything else (``"--5"``, ``"²"``, 2**63) is a :class:`MutationError`
    naming the field, never a driver error."""
    rid: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        rid = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()) and len(value.strip()) <= 21:
        rid = int(value.strip())
    if rid is None or not ID_MIN <= rid <= ID_MAX:
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise MutationError(f"payload.id must be an integer from -2**63 to 2**63-1, got {shown}")
    return rid


class EntityStore:
    """Every row of every known kind. ``kinds`` is the known entity set; others are refused."""

    def __init__(self, path: str | Path = ":memory:", kinds: tuple[str, ...] = ()) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            if not Path(self.path).exists():
                Path(self.path).touch(mode=0o600)
        # The server may restart on a new thread (ServerThread.restart) with the same store.
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
        self._lock = threading.Lock()
        if self.path != ":memory:":  # other instances may share the file (serve --redis)
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        self._db.commit()
        self.kinds = frozenset(k.lower() for k in kinds)
        # Behind Redis, a write reaches the in-memory copy only when it comes back from the
        # channel (:meth:`apply`), so every instance's copy changes in the same order.
        self.deferred = False
        self._rows: dict[str, dict[int, Row]] = {}
        for kind, rid, doc in self._db.execute("SELECT kind, id, doc FROM rows ORDER BY kind, id"):
            self._rows.setdefault(kind, {})[rid] = orjson.loads(doc)

    def known(self, kind: str) -> bool:
        return kind.lower() in self.kinds

    def rows(self, kind: str) -> list[Row]:
        return list(self._rows.get(kind.lower(), {}).values())

    def count(self, kind: str | None = None) -> int:
        if kind is not None:
            return len(self._rows.get(kind.lower(), {}))
        return sum(len(r) for r in self._rows.values())

    def get(self, kind: str, rid: Any) -> Row | None:
        return self._rows.get(kind.lower(), {}).get(row_id(rid))

    def create(self, kind: str, payload: dict[str, Any]) -> Row:
        table = self._rows.setdefault(kind.lower(), {})
        stamp = _now_iso()
        row = {k: v for k, v in payload.items() if k != "id"}
        row.setdefault("createdAt", stamp)
        row.setdefault("updatedAt", stamp)
        if payload.get("id") is not None:
            rid = row_id(payload["id"])
            if rid in table:
                raise MutationError(f"{kind} {rid} already exists")
            row = {"id": rid, **row}
            self._write(kind, rid, row)
            return row
        return self._write_new(kind, row)

    def update(self, kind: str, payload: dict[str, Any]) -> Row:
        rid = self._existing_id(kind, payload)
        row = {**self._rows[kind.lower()][rid], **payload, "id": rid, "updatedAt": _now_iso()}
        self._write(kind, rid, row)
        return row

    def delete(self, kind: str, payload: dict[str, Any]) -> Row:
        rid = self._existing_id(kind, payload)
        with self._lock:
            self._db.execute("DELETE FROM rows WHERE kind = ? AND id = ?", (kind.lower(), rid))
            self._db.commit()
        row = self._rows[kind.lower()][rid]
        if not self.deferred:
            del self._rows[kind.lower()][rid]
        return row

    def insert_many(self, kind: str, rows: list[Row]) -> None:
        """Bulk load (seeding): one transaction, ids taken from the rows."""
        table = self._rows.setdefault(kind.lower(), {})
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO rows (kind, id, doc) VALUES (?, ?, ?)",
                [(kind.lower(), r["id"], orjson.dumps(r).decode()) for r in rows],
            )
            self._db.commit()
        table.update({r["id"]: r for r in rows})

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _existing_id(self, kind: str, payload: dict[str, Any]) -> int:
        if payload.get("id") is None:
            raise MutationError("payload.id is required")
        rid = row_id(payload["id"])
        if rid not in self._rows.get(kind.lower(), {}):
            raise MutationError(f"{kind} {rid} not found")
        return rid

    def _write_new(self, kind: str, fields: Row) -> Row:
        """A new row under the next free id, taken from the database in the same transaction:
        instances sharing the file never hand out one id twice."""
        table = self._rows.setdefault(kind.lower(), {})
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (top,) = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM rows WHERE kind = ?", (kind.lower(),)).fetchone()
                rid = max(int(top), max(table, default=0)) + 1
                row = {"id": rid, **fields}
                try:
                    doc = orjson.dumps(row).decode()
                except orjson.JSONEncodeError as exc:
                    raise MutationError(f"payload cannot be stored: {exc}") from None
                self._db.execute("INSERT INTO rows (kind, id, doc) VALUES (?, ?, ?)", (kind.lower(), rid, doc))
                self._db.commit()
            except BaseException:
                self._db.rollback()
                raise
        if not self.deferred:
            table[rid] = row
        return row

    def apply(self, kind: str, rid: int, row: Row | None) -> None:
        """A write (ours or another instance's) came back from the channel: ``row`` (None:
        deleted) goes into the copy, in channel order."""
        table = self._rows.setdefault(kind.lower(), {})
        if row is None:
            table.pop(rid, None)
        else:
            table[rid] = row

    def _write(self, kind: str, rid: int, row: Row) -> None:
        try:
            doc = orjson.dumps(row).decode()
        except orjson.JSONEncodeError as exc:  # integers past 64 bits, nesting past 255 levels
            raise MutationError(f"payload cannot be stored: {exc}") from None
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO rows (kind, id, doc) VALUES (?, ?, ?)", (kind.lower(), rid, doc))
            self._db.commit()
        if not self.deferred:
            self._rows.setdefault(kind.lower(), {})[rid] = row

