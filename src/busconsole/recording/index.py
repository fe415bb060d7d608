"""FileIndex: the byte offsets of a file's frame lines, scanned fast and read on demand.

A frame costs 8 bytes of index (one ``array('Q')`` entry, the line's start); lines
are parsed only when asked for. The scan reads the file in blocks with ``pread`` and
finds line starts with ``find``; it does no per-line check when a block is made purely of lines starting with ``{`` (one
regex search in C proves it): such lines are validated lazily, when a frame is read,
and only the file's last line is parsed at the end to report a torn write. A block
holding anything else (blank lines, text, arrays, indented objects) is checked
line by line, so garbage is skipped and reported with its line number.

The scan may run in another thread while frames are read: entries are only ever
appended, and a line is read through an mmap that is re-opened when the file grows
and whose pages are dropped every few megabytes read (see :meth:`FileIndex.consumed`).
"""

from __future__ import annotations

import mmap
import os
import re
import threading
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

from busconsole.filtering import scan
from busconsole.filtering.nodes import Anchors
from busconsole.recording import detect
from busconsole.recording.format import check_header, is_header
from busconsole.recording.lines import edges, hits, whole_lines

_STRAY_LINE = re.compile(rb"\n(?!\{)")  # a line break not followed by an object's opening brace
SESSION_MARK = b'{"busconsole":"recording"'  # how busconsole writes a header line (orjson, compact)
SMALL_FILE = 1 << 16  # files under this are read whole once (header, time range and scan)
RESIDENT_BUDGET = 16 << 20  # bytes read through the map before its pages are dropped
_DONTNEED: int | None = getattr(mmap, "MADV_DONTNEED", None)


_GO = threading.Event()  # never cleared: the "go" of every file nobody has paused
_GO.set()


class FileIndex:
    """Frame-line offsets of one (uncompressed) file. ``problems`` collects skipped lines."""

    def __init__(self, path: Path, name: str, problems: list[str], follow: bool = False) -> None:
        self.path = path
        self.name = name  # what the person gave (the .gz name, not the temp file)
        self.problems = problems
        self.follow = follow
        self.offsets = array("Q")
        self.header: dict[str, object] | None = None
        self.scanned = 0  # bytes indexed so far; always at a line start
        self.lines = 0  # lines seen so far (for problem reports)
        self.done = False
        self.clean = True  # no line was skipped: frame line j ends where line j + 1 starts
        self._mm: mmap.mmap | None = None
        self._mapped_reads = 0  # bytes read through the map since its pages were last dropped
        self.go = _GO  # replaced by an own event when paused: the scan waits after its first block
        self.stopping = False  # set (with go) by the owner closing: the scan ends at the next block
        self._small: bytes | None = None  # a small file's bytes, read with its header, until scanned
        self._data: bytes | None = None  # the whole file in memory for one pass (see hold)
        self._edges: tuple[float | None, float | None] | None = None  # a small file's, from its header read
        self._mm_lock = threading.Lock()
        self._scan_lock = threading.Lock()
        self._unchecked = 0  # the index length when a block was indexed without line checks
        self.sessions: list[int] = []  # frame indexes where a later (appended) session starts

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return self.scanned

    # ------------------------------------------------------------------ scanning

    def read_header(self, keep_small: bool = True) -> int:
        """Check the first line (raises FormatError for a newer version). A small file is
        read whole and (``keep_small``) kept until it is scanned: a tree of thousands of
        per-second debug logs is then opened once a file, not three times (header, time range,
        scan). Returns the bytes kept."""
        with open(self.path, "rb") as f:
            head = f.read(SMALL_FILE)
            whole = len(head) < SMALL_FILE
            if whole and keep_small:
                self._small = head
            end = head.find(b"\n")
            first = head[: end + 1] if end >= 0 or whole else head + f.readline(1 << 20)
        # Only a line naming "busconsole" can be a header: other files' first lines are not parsed.
        obj = detect.parse_line(first.strip()) if first.startswith(b"{") and b'"busconsole"' in first else None
        if obj is not None and is_header(obj):
            self.header = check_header(obj, self.name)
        if whole and not self.follow:  # the time range while the bytes are here, kept or not
            self._edges = edges(head, head)
        return len(self._small) if self._small is not None else 0

    def scan(self) -> None:
        """Index everything written so far (call again to pick up growth).

        The file is read with ``pread``, not mapped: its pages stay in the page cache and
        never count in the process's resident memory, however big the file."""
        small, self._small = self._small, None
        if small is not None and not self.follow and self.scanned == 0 and self.size == len(small):
            with self._scan_lock:
                self._scan_bytes(small)
            return
        if self._data is not None and self.scanned == 0:  # read whole for a pass already
            with self._scan_lock:
                self._scan_bytes(self._data)
            return
        with self._scan_lock, open(self.path, "rb") as f:
            fd = f.fileno()
            size = os.fstat(fd).st_size
            if size <= self.scanned:
                self.done = True
                return
            pos = first = self.scanned
            while pos < size:
                if pos != first:  # a paused scan still gives the first frames to show
                    self.go.wait()
                if self.stopping:
                    return
                block, cut = whole_lines(fd, pos, size)
                if not cut:
                    break
                self._index(block, pos, cut)
                self.scanned = pos = pos + cut
            self._check_last(lambda start: os.pread(fd, size - start, start))
            if pos < size:
                self._tail(os.pread(fd, size - pos, pos))
            self.done = True

    def hold(self) -> None:
        """Read the whole (small) file into memory for one pass over it: the scan and the lines
        then come from that copy, not from a map or another open. :meth:`release` drops it."""
        if self._data is None and self.scanned == 0 and not self.follow:
            small, self._small = self._small, None
            if small is None:
                with open(self.path, "rb") as f:
                    small = f.read()
            self._data = small

    def release(self) -> None:
        self._data = None

    def _scan_bytes(self, data: bytes) -> None:
        """:meth:`scan` of a whole small file already in memory."""
        cut = data.rfind(b"\n") + 1
        if cut:
            self._index(data, 0, cut)
            self.scanned = cut
        self._check_last(lambda start: data[start:])
        if cut < len(data):
            self._tail(data[cut:])
        self.done = True

    def _index(self, block: bytes, base: int, cut: int) -> None:
        """Index the whole lines in ``block[:cut]`` (``cut`` just past a newline), which starts
        at file offset ``base``."""
        if base == 0 and self.header is not None:
            skip = block.find(b"\n") + 1
            self.lines += 1
            if skip >= cut:
                return
            block, base, cut = block[skip:], skip, cut - skip
        if (block[:1] == b"{" and _STRAY_LINE.search(block, 0, cut - 1) is None
                and block.find(SESSION_MARK, 0, cut) < 0):
            before = len(self.offsets)
            append, find = self.offsets.append, block.find
            lo = 0
            while lo < cut:
                append(base + lo)
                lo = find(b"\n", lo, cut) + 1
            n = len(self.offsets) - before
            self.lines += n
            self._unchecked = len(self.offsets)
            return
        pos = base
        for line in block[:cut].splitlines(True):
            self.lines += 1
            self._check(line.strip(), pos)
            pos += len(line)

    def _check_last(self, read_from: Callable[[int], bytes]) -> None:
        """Parse the newest line indexed without a check when it ends the file: a torn write shows
        there, while lines in the middle are validated when they are read. ``read_from(offset)``
        gives the file's bytes from there to its end."""
        n = len(self.offsets)
        if not n or self._unchecked != n:
            return
        start = self.offsets[-1]
        text = read_from(start)
        end = text.find(b"\n")
        if end + 1 != len(text) or detect.parse_line(text[:end].strip()) is not None:
            return
        self.offsets.pop()
        self._unchecked = 0
        self.clean = False
        self.problems.append(f"{self.name}:{self.lines}: skipped a torn line")

    def _check(self, text: bytes, pos: int) -> bool:
        if not text:
            self.clean = False
            return False
        obj = detect.parse_line(text)
        if obj is None:
            what = "a torn line" if self._at_end(pos, text) else "a line that is not a JSON object"
            self.problems.append(f"{self.name}:{self.lines}: skipped {what}")
            self.clean = False
            return False
        if is_header(obj):  # a session appended to the file (record --append): not a frame
            check_header(obj, f"{self.name}:{self.lines}")
            self.sessions.append(len(self.offsets))
            self.clean = False
            return False
        self.offsets.append(pos)
        return True

    def _at_end(self, pos: int, text: bytes) -> bool:
        return pos + len(text) >= self.size - 1

    def _tail(self, carry: bytes) -> None:
        """An unterminated last line: kept if complete, reported if torn, left alone when following."""
        if self.follow:
            return
        if self.scanned == 0 and self.header is not None:
            return  # the header alone
        self.lines += 1
        if self._check(carry.strip(), self.scanned):
            self.scanned += len(carry)

    # ------------------------------------------------------------------ reading

    def line(self, i: int) -> bytes:
        """The bytes of frame line ``i`` (without the newline)."""
        start = self.offsets[i]
        data = self._data
        if data is not None:
            end = data.find(b"\n", start)
            return data[start : end if end >= 0 else len(data)].strip()
        with self._mm_lock:
            mm = self._map(start)
            end = mm.find(b"\n", start)
            if end < 0 and self.follow:  # the line was completed after the file was mapped
                mm = self._map(len(mm))
                end = mm.find(b"\n", start)
            end = end if end >= 0 else len(mm)
            self.consumed(end - start)
            return mm[start:end].strip()

    def consumed(self, nbytes: int) -> None:
        """Count bytes read through the map (call under _mm_lock); past a budget, drop the
        map's pages from this process. They stay in the page cache, so reading them again is
        cheap, but reading a whole big file no longer leaves it all in resident memory."""
        self._mapped_reads += nbytes
        if self._mapped_reads > RESIDENT_BUDGET and self._mm is not None:
            self._mapped_reads = 0
            if _DONTNEED is not None:
                self._mm.madvise(_DONTNEED)

    def blocks(self, start: int, block: int = 1 << 20) -> Iterator[tuple[int, bytes, array[int]]]:
        """``(first line, bytes, line ends)`` runs of whole frame lines from line ``start`` on,
        read in bulk; ``ends`` are the file offsets where each line of the run ends.

        Only for a clean file (no skipped lines), where consecutive offsets are adjacent
        lines; a caller splits each run with ``splitlines()`` in one C call. The last run
        stops at the last newline, so a line still being written is never handed out. A run
        is about ``block`` bytes (one line at least): small enough that the allocator reuses
        the memory of the previous run and its lower-cased copy instead of mapping fresh pages.
        """
        from bisect import bisect_left

        offs = self.offsets
        n = len(offs)
        j = start
        held = self._data
        while j < n:
            k = bisect_left(offs, offs[j] + block, j + 1, n)
            if held is not None:
                end = offs[k] if k < n else held.find(b"\n", offs[k - 1]) + 1 or len(held)
                ends = offs[j + 1 : k]
                ends.append(end)
                yield j, held[offs[j] : end], ends
                j = k
                continue
            with self._mm_lock:
                mm = self._map(offs[k - 1])
                end = offs[k] if k < n else mm.find(b"\n", offs[k - 1]) + 1 or len(mm)
                data = mm[offs[j] : end]
                self.consumed(len(data))
            ends = offs[j + 1 : k]
            ends.append(end)
            yield j, data, ends
            j = k

    def search(
        self, needles: Anchors, start: int = 0, also: bytes | None = None, block: int = 1 << 20
    ) -> Iterator[tuple[int, bytes]]:
        """``(j, line)`` of the frame lines from ``start`` on that contain a needle, any ASCII case
        (or ``also``, a lower-case mark searched only in blocks that hold it at all).

        Each block of lines is lower-cased and searched in C (:func:`scan.hits`), so lines
        without a needle cost no Python work. Only for a clean file, like :meth:`blocks`.
        """
        offs = self.offsets
        for j, data, ends in self.blocks(start, block):
            origin = offs[j]
            low = data.lower()
            marked = (*needles, also) if also is not None and also in low else needles
            for h in scan.hits(low, marked, ends, origin):
                yield j + h, data[(ends[h - 1] if h else origin) - origin : ends[h] - origin].strip()

    def stream(
        self, needles: Anchors, also: bytes | None = None, block: int = 1 << 20
    ) -> Iterator[tuple[int, bytes]]:
        """``(offset, line)`` of the frame lines that contain a needle, any ASCII case (or ``also``,
        a lower-case mark), read straight from the file in one pass, without an index.

        For one pass over a whole file (``replay --print``), where building the index first
        costs about as much as the search. Lines that are not JSON objects are reported and
        skipped as the scan would; a torn last line too. The header line is skipped.
        """
        with open(self.path, "rb") as f:
            fd = f.fileno()
            size = os.fstat(fd).st_size
            pos = len(f.readline(1 << 20)) if self.header is not None else 0
            while pos < size:
                data, cut = whole_lines(fd, pos, size, block)
                if not cut:
                    break
                if data[:1] == b"{" and _STRAY_LINE.search(data, 0, cut - 1) is None:
                    yield from hits(data, cut, pos, needles, also)
                else:
                    yield from self._stream_checked(data[:cut], pos, needles, also)
                pos += cut
            if pos < size and not self.follow:
                carry = os.pread(fd, size - pos, pos).strip()
                if carry and detect.parse_line(carry) is None:
                    self.problems.append(f"{self.name}:{self.offset_line_number(pos)}: skipped a torn line")
                elif carry:
                    yield from hits(carry + b"\n", len(carry) + 1, pos, needles, also)

    def _stream_checked(
        self, data: bytes, pos: int, needles: Anchors, also: bytes | None
    ) -> Iterator[tuple[int, bytes]]:
        """:meth:`stream` for a block holding lines other than objects: each line on its own."""
        for raw in data.splitlines(True):
            text = raw.strip()
            if text[:1] != b"{":
                if text:
                    where = self.offset_line_number(pos)  # counted only here: damage is rare
                    self.problems.append(f"{self.name}:{where}: skipped a line that is not a JSON object")
            else:
                low = text.lower()
                if any(n in low for n in needles) or (also is not None and also in low):
                    yield pos, text
            pos += len(raw)

    def offset_line_number(self, offset: int) -> int:
        """1-based line number of the line starting at byte ``offset`` (counts newlines: reports only)."""
        with open(self.path, "rb") as f:
            return f.read(offset).count(b"\n") + 1

    def sample(self, size: int = 1 << 18) -> bytes:
        """Up to ``size`` bytes from the first frame line on (the file's start before it is
        indexed, less the header), lower-cased."""
        if self._data is not None and self.offsets:
            return self._data[self.offsets[0] : self.offsets[0] + size].lower()
        with open(self.path, "rb") as f:
            start = self.offsets[0] if self.offsets else len(f.readline(1 << 20)) if self.header else 0
            return os.pread(f.fileno(), size, start).lower()

    def line_number(self, i: int) -> int:
        """1-based line number of frame line ``i`` (for reports only)."""
        return self.offset_line_number(self.offsets[i])

    def _map(self, need: int) -> mmap.mmap:
        """The file's map, re-opened when ``need`` lies past its end (call under _mm_lock)."""
        if self._mm is None or need >= len(self._mm):
            if self._mm is not None:
                self._mm.close()
            with open(self.path, "rb") as f:
                self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return self._mm

    def close(self) -> None:
        with self._mm_lock:
            if self._mm is not None:
                self._mm.close()
                self._mm = None

    def edge_times(self) -> tuple[float | None, float | None]:
        """Times of the first and last frame lines, read from the file's ends (for merging)."""
        if self._edges is not None:
            return self._edges
        if self._small is not None:
            return edges(self._small, self._small)
        size = self.size
        with open(self.path, "rb") as f:
            head = f.read(min(size, 1 << 16))
            f.seek(max(0, size - (1 << 16)))
            tail = f.read()
        return edges(head, tail)
