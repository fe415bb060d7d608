"""Following a store server's log folder live: the frontends' console logs without a proxy.

The server never forwards CONSOLE_LOGS to other clients; it writes them to its log folder
(``store-events-<time>.jsonl``, a new file each second while frontends log, and
``console-logs-<date>.jsonl``, which grows) beside ``<entity>/history.jsonl``. A
:class:`FolderFollower` hands out the lines written since it started, as frames read the
way ``replay`` reads them (:mod:`.detect`), in the order the server wrote them.

Cheap on a folder of tens of thousands of files: a poll lists the folder once (names only)
and looks at the size of the files that are new or were growing lately, not every file.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from busconsole.frames import CapturedFrame
from busconsole.recording import detect
from busconsole.recording.format import is_header

QUIET_SECONDS = 30.0  # a file that has not grown for this long is looked at only every RECHECK_SECONDS
RECHECK_SECONDS = 5.0
_READ_MAX = 8 << 20  # bytes read from one file per poll
FOLLOW_SECONDS = 0.25  # how often a followed folder is looked at


@dataclass(slots=True)
class _Tail:
    offset: int
    grew_at: float
    checked_at: float = 0.0


class FolderFollower:
    """New lines of the ``*.jsonl`` files under ``root``, as frames, poll by poll."""

    def __init__(self, root: Path, next_seq: Callable[[], int], *, from_start: bool = False) -> None:
        self.root = root
        self._next_seq = next_seq
        self._files: dict[Path, _Tail] = {}
        self.problems: list[str] = []
        if not from_start:  # what is there already is history: replay it, follow what comes
            now = time.monotonic()
            for path in self._listing():
                try:
                    self._files[path] = _Tail(path.stat().st_size, now)
                except OSError:
                    continue

    def _listing(self) -> list[Path]:
        out: list[Path] = []
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.name.endswith(".jsonl"):
                            out.append(Path(entry.path))
            except OSError:
                continue
        return out

    def poll(self) -> list[CapturedFrame]:
        """Frames of the complete lines written since the last poll (a torn last line waits)."""
        now = time.monotonic()
        frames: list[CapturedFrame] = []
        known = self._files
        for path in self._listing():
            tail = known.get(path)
            if tail is None:
                tail = known[path] = _Tail(0, now)
            elif now - tail.grew_at > QUIET_SECONDS:
                if now - tail.checked_at < RECHECK_SECONDS:
                    continue
                tail.checked_at = now
                try:
                    if path.stat().st_size <= tail.offset:
                        continue
                except OSError:
                    continue
            frames.extend(self._read(path, tail, now))
        frames.sort(key=lambda f: f.t)
        return frames

    def _read(self, path: Path, tail: _Tail, now: float) -> list[CapturedFrame]:
        try:
            with path.open("rb") as fh:
                fh.seek(tail.offset)
                data = fh.read(_READ_MAX)
        except OSError as exc:
            self.problems.append(f"{path}: {exc}")
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        tail.offset += end + 1
        tail.grew_at = now
        out = []
        for line in data[:end].splitlines():
            line = line.strip()
            if not line:
                continue
            obj = detect.parse_line(line)
            if obj is None or is_header(obj):
                continue
            try:
                out.append(detect.line_frame(line, obj, self._next_seq(), str(path)))
            except ValueError:
                continue
        return out


async def follow_folder(follower: FolderFollower, on_frame: Callable[[CapturedFrame], None]) -> None:
    """Hand what the folder gains to ``on_frame``, a few times a second, until cancelled (the
    listing and reading run in a thread, so a big folder never holds the event loop)."""
    while True:
        for frame in await asyncio.to_thread(follower.poll):
            on_frame(frame)
        await asyncio.sleep(FOLLOW_SECONDS)
