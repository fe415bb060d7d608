"""RecordingWriter: the v1 JSONL recording (DESIGN §3), safe against crashes and leaks.

Every call is handed to the kernel before it returns (one ``os.write`` per call), so a
killed recorder loses at most the line it was writing; a small background thread fsyncs
dirty files every ``fsync_interval`` seconds so a power cut loses little more. A caller
that receives frames in bursts passes each burst to :meth:`RecordingWriter.write_many`:
one system call for the lot is what makes recording cheap next to the traffic. Files
are created 0600 because frames carry business data. Redaction runs before a byte
reaches disk.

``.jsonl.gz`` names are gzip streams flushed with ``Z_SYNC_FLUSH`` after each call,
which keeps every complete line readable after a crash at some cost in ratio.
Rotation (``rotate_mb``) continues in ``<stem>.1.jsonl``, ``<stem>.2.jsonl``…, each
part with its own header; the reader joins the parts back into one session. Every header
of one writer carries the same random ``session`` id, so the reader never joins a stale
part of an older recording to a newer one. ``append=True`` adds a new session (a new
header line) at the end of an existing file instead of truncating it.
"""

from __future__ import annotations

import gzip
import os
import re
import threading
import uuid
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO

import orjson

from busconsole.frames import CapturedFrame
from busconsole.recording.format import encode, encode_many, header_line
from busconsole.recording.redact import Redactor

_DEFAULT_REDACTOR = Redactor()


def _split(name: str) -> tuple[str, str]:
    for suffix in (".jsonl.gz", ".jsonl", ".gz"):
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def part_path(path: Path, n: int) -> Path:
    """``rec.jsonl`` → ``rec.<n>.jsonl`` (``.jsonl.gz`` kept); part 0 is ``path`` itself."""
    if n == 0:
        return path
    stem, suffix = _split(path.name)
    return path.with_name(f"{stem}.{n}{suffix}")


def existing_parts(path: Path) -> list[Path]:
    """``path`` and every rotated part of it (``rec.<n>.jsonl``, any n) that exist, in part order."""
    stem, suffix = _split(path.name)
    number = re.compile(re.escape(stem) + r"\.([1-9][0-9]*)" + re.escape(suffix))
    found: list[tuple[int, Path]] = [(0, path)] if path.exists() or path.is_symlink() else []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        entries = []
    for p in entries:
        m = number.fullmatch(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def session_header(source: str, rules: list[str], part: int, session: str) -> bytes:
    """The header line of one part of a recording session (``session`` shared by its parts)."""
    head = orjson.loads(header_line(source, rules, part))
    head["session"] = session
    return orjson.dumps(head) + b"\n"


class RecordingWriter:
    """Appends captured frames to a recording file; use as a context manager or call close()."""

    def __init__(
        self,
        path: str | Path,
        source: str,
        redactor: Redactor | None = _DEFAULT_REDACTOR,
        rotate_mb: float | None = None,
        fsync_interval: float = 0.2,
        append: bool = False,
    ) -> None:
        self.path = Path(path)
        if append and rotate_mb:
            raise ValueError("an appended session cannot rotate: its parts would replace the old ones")
        self.session = uuid.uuid4().hex
        self.append = append
        self.paths: list[Path] = []
        self.redactor = redactor
        self.source = redactor.redact_url(source) if redactor else source
        self.rotate_bytes = int(rotate_mb * 1024 * 1024) if rotate_mb else None
        self.gzip = self.path.name.endswith(".gz")
        self.frames = 0
        self.bytes = 0  # uncompressed bytes of all lines, headers included
        self._part_bytes = 0
        self._fd = -1
        self._raw: IO[bytes] | None = None
        self._out: IO[bytes] | gzip.GzipFile | None = None
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        self._open_part(0)
        self._syncer = threading.Thread(
            target=self._sync_loop, args=(fsync_interval,), name="recording-fsync", daemon=True
        )
        self._syncer.start()

    # ------------------------------------------------------------------ files

    def _open_part(self, n: int) -> None:
        path = part_path(self.path, n)
        mode = os.O_APPEND if self.append and n == 0 else os.O_TRUNC
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | mode | getattr(os, "O_CLOEXEC", 0), 0o600)
        os.fchmod(fd, 0o600)  # the file may have existed with a wider mode
        raw = os.fdopen(fd, "wb", buffering=0)
        self._fd, self._raw = fd, raw
        self._out = raw
        if self.gzip:
            self._out = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6)
        self.paths.append(path)
        self._part_bytes = 0
        if self.append and n == 0 and not self.gzip and os.fstat(fd).st_size:
            self._end_torn_line(fd)
        self._emit(session_header(self.source, self.redactor.rules if self.redactor else [], n, self.session))

    def _end_torn_line(self, fd: int) -> None:
        """An appended session starts on a line of its own, even after a torn last line."""
        size = os.fstat(fd).st_size
        with open(self.path, "rb") as f:
            last = os.pread(f.fileno(), 1, size - 1)
        if last != b"\n":
            os.write(fd, b"\n")

    def _close_part(self) -> None:
        if self._out is None:
            return
        if self._out is not self._raw:
            self._out.close()
        assert self._raw is not None
        self._raw.flush()
        os.fsync(self._fd)
        self._raw.close()
        self._out = self._raw = None
        self._dirty = False

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        out = self._out
        if isinstance(out, gzip.GzipFile):
            out.write(data)
            out.flush(zlib.Z_SYNC_FLUSH)
        else:
            assert out is not None
            view = memoryview(data)
            while view:  # a large write may be split, e.g. by a signal
                view = view[out.write(view) or 0 :]
        self.bytes += len(data)
        self._part_bytes += len(data)
        self._dirty = True

    def _on_disk(self) -> int:
        if isinstance(self._out, gzip.GzipFile) and self._raw is not None:
            return self._raw.tell()
        return self._part_bytes

    # ------------------------------------------------------------------ writing

    def line_for(self, frame: CapturedFrame) -> bytes:
        """The recording line of ``frame`` after redaction."""
        red = self.redactor
        if red is None or not red.might_contain(frame.raw):
            return encode(frame)
        obj = frame.obj
        if obj is not None:
            clean = red.redact_obj(obj)
            return encode(frame) if clean is obj else encode(frame, clean)
        masked = red.redact_raw(frame.raw)
        if masked is frame.raw:
            return encode(frame)
        return encode(CapturedFrame(frame.seq, frame.t, frame.dir, frame.conn, masked, frame.binary))

    def write(self, frame: CapturedFrame) -> None:
        """Append one frame, on disk (in the kernel) when this returns."""
        self.write_many((frame,))

    def write_many(self, frames: Iterable[CapturedFrame]) -> None:
        """Append frames in order with one write per file part, on disk when this returns.

        The redactor looks at the whole batch's bytes at once: when no rule can match
        anywhere in them, no frame needs a closer look.
        """
        frames = list(frames)
        red = self.redactor
        clean = red is None or len(frames) > 1 and not red.might_contain(b"\n".join(f.raw for f in frames))
        if clean and not self.rotate_bytes:  # the common case: one encoding call, one write
            lines = [encode_many(frames)]
        else:
            lines = [encode(f) for f in frames] if clean else [self.line_for(f) for f in frames]
        with self._lock:
            if self._out is None:
                raise ValueError(f"recording {self.path} is closed")
            batch: list[bytes] = []
            size = 0
            for line in lines:
                if self.rotate_bytes and (self.frames or batch) and self._on_disk() + size >= self.rotate_bytes:
                    self._emit(b"".join(batch))
                    batch, size = [], 0
                    self._close_part()
                    self._open_part(len(self.paths))
                batch.append(line)
                size += 0 if self.gzip else len(line)  # a gzip part's size is known once written
            self._emit(b"".join(batch))
            self.frames += len(frames)

    def _sync_loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            with self._lock:
                if self._dirty and self._out is not None:
                    os.fsync(self._fd)
                    self._dirty = False

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with self._lock:
            self._close_part()
        if self._syncer is not threading.current_thread():
            self._syncer.join()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
