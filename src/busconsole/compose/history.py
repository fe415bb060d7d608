"""The history of sent frames: a bounded JSONL file in the XDG data dir, recalled newest first.

One line per sent frame, ``{"t": <epoch ms>, "frame": {...}}``, appended as it is sent
so a crash loses nothing. The file is rewritten down to ``limit`` entries only when it
has grown half as large again, so appending stays one write. A torn or foreign line
is skipped, never fatal: history is a convenience, not a record.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from busconsole import paths
from busconsole.wire import now_ms

HISTORY_FILE = "history.jsonl"
DEFAULT_LIMIT = 500
MAX_ENTRY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    t: float
    frame: dict[str, Any]

    def line(self) -> bytes:
        return orjson.dumps({"t": self.t, "frame": self.frame}) + b"\n"

    def text(self) -> str:
        return orjson.dumps(self.frame).decode()


def _write_private(path: Path, data: bytes, append: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class History:
    """Sent frames, oldest first in ``entries``; a cursor recalls them from the newest."""

    def __init__(
        self, path: Path | None = None, limit: int = DEFAULT_LIMIT, max_entry_bytes: int = MAX_ENTRY_BYTES
    ) -> None:
        self.path = path or paths.data_dir() / HISTORY_FILE
        self.limit = max(1, limit)
        self.max_entry_bytes = max_entry_bytes
        self._torn = False  # the file ends mid-line (a crash); the next append starts a new line
        self.entries: list[HistoryEntry] = self._read()
        self._lines_on_disk = len(self.entries)
        self._cursor: int | None = None  # index into entries while recalling, None = the draft

    def _read(self) -> list[HistoryEntry]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        self._torn = bool(data) and not data.endswith(b"\n")
        out = []
        for line in data.splitlines():
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("frame"), dict):
                t = rec.get("t")
                out.append(HistoryEntry(float(t) if isinstance(t, (int, float)) else 0.0, rec["frame"]))
        return out[-self.limit :]

    def append(self, frame: dict[str, Any]) -> HistoryEntry | None:
        """Keep ``frame`` as sent; recall starts again from the newest entry.

        A frame over ``max_entry_bytes`` is not kept (None): history is for sending again,
        and a recording, not this file, is where large traffic belongs.
        """
        self._cursor = None
        entry = HistoryEntry(float(now_ms()), frame)
        if len(entry.line()) > self.max_entry_bytes:
            return None
        self.entries.append(entry)
        del self.entries[: -self.limit]
        paths.ensure(self.path.parent)
        torn, self._torn = self._torn, False
        if self._lines_on_disk + 1 > self.limit + self.limit // 2:
            tmp = self.path.with_name(self.path.name + ".tmp")
            _write_private(tmp, b"".join(e.line() for e in self.entries), append=False)
            os.replace(tmp, self.path)
            self._lines_on_disk = len(self.entries)
        else:
            _write_private(self.path, b"\n" * torn + entry.line(), append=True)
            self._lines_on_disk += 1
        return entry

    def __len__(self) -> int:
        return len(self.entries)

    # ------------------------------------------------------------------ recall

    def previous(self) -> HistoryEntry | None:
        """One step back in time (``up``); stays on the oldest entry at the end."""
        if not self.entries:
            return None
        self._cursor = len(self.entries) - 1 if self._cursor is None else max(0, self._cursor - 1)
        return self.entries[self._cursor]

    def next(self) -> HistoryEntry | None:
        """One step forward (``down``); None past the newest, meaning back to the draft."""
        if self._cursor is None:
            return None
        if self._cursor >= len(self.entries) - 1:
            self._cursor = None
            return None
        self._cursor += 1
        return self.entries[self._cursor]

    def search(self, text: str, limit: int | None = None) -> list[HistoryEntry]:
        """Entries whose frame JSON contains ``text`` (case-insensitive), newest first."""
        needle = text.lower()
        found = [e for e in reversed(self.entries) if needle in e.text().lower()]
        return found[:limit] if limit is not None else found
