"""open_recording: files, folders and globs read as one stream of captured frames.

A :class:`Recording` is a ``FrameSource`` for the event store (``len()``, ``frame(i)``)
over per-file offset indexes built in a background thread, so the first frames are
readable while a large file is still being scanned.

Files whose time ranges do not overlap (rotated parts, hourly logs) are simply
joined, oldest first, and stay readable during the scan. Overlapping files are
merged by time once every file is scanned (``len()`` is 0 until then); the merged
order costs one 8-byte entry per frame. ``.jsonl.gz`` files are inflated to a
private temporary file (unlinked while open, so a killed replay leaves nothing) and
indexed like the others.

Following (``follow=True`` + :meth:`Recording.refresh`) picks up lines appended to the
last file of the stream, the one a live recorder writes. Only :class:`RecordingError`
leaves this module (plus ``IndexError`` for an index past the end).
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from types import TracebackType

from busconsole.filtering import scan
from busconsole.filtering.nodes import Anchors
from busconsole.frames import CapturedFrame
from busconsole.recording import detect
from busconsole.recording.errors import RecordingError
from busconsole.recording.files import expand
from busconsole.recording.format import FormatError, is_header, read_line
from busconsole.recording.index import SESSION_MARK, FileIndex
from busconsole.recording.inflate import Inflated, inflate

_FILE_BITS = 40  # merged order entries pack (file number << 40 | line number)
_LINE_MASK = (1 << _FILE_BITS) - 1
SMALL_FILES_BUDGET = 32 << 20  # small files read whole at open are kept up to this much in all
_BASE64_RECORD = b'"enc":"base64"'  # a binary frame's record: its bytes are not in the line as they are


class Recording:
    """Captured frames of one or more files in time order, read on demand."""

    def __init__(
        self, files: list[FileIndex], merge: bool, follow: bool, temps: list[Inflated], problems: list[str]
    ) -> None:
        self.files = files
        self.merged = merge
        self.follow = follow
        self.problems = problems  # "file:line: what", shared with the file indexes
        self._temps = temps
        self._starts: list[int] = []  # first stream index of each file whose scan has begun
        self._order: array[int] | None = None
        self._reported: set[tuple[int, int]] = set()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False

    # ------------------------------------------------------------------ indexing

    def start(self, background: bool = True) -> Recording:
        self._started = True
        if background:
            self._thread = threading.Thread(target=self._index_all, name="recording-index", daemon=True)
            self._thread.start()
        else:
            self._index_all()
        return self

    def _index_all(self) -> None:
        total = 0
        for fi in self.files:
            if fi.stopping:  # closed while indexing
                break
            self._starts.append(total)
            try:
                fi.scan()
            except OSError as exc:
                self.problems.append(f"{fi.name}: stopped reading: {exc}")
            total += len(fi)
        else:
            if self.merged:
                self._order = self._merge_order()
        self._done.set()

    def _merge_order(self) -> array[int]:
        """Stream order by time; ties keep file order, then line order (the sort is stable)."""
        times = array("d")
        for fi in self.files:
            times.extend(_or_zero(detect.line_time(fi.line(j))) for j in range(len(fi)))
        starts = self._starts
        order = array("Q")
        for g in sorted(range(len(times)), key=times.__getitem__):
            k = bisect_right(starts, g) - 1
            order.append((k << _FILE_BITS) | (g - starts[k]))
        return order

    @property
    def indexing_done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the index is complete; True when it is. Indexes here when nobody started it."""
        if not self._started:
            self.start(background=False)
        return self._done.wait(timeout)

    def pause_indexing(self, paused: bool = True) -> None:
        """Let the index thread stop after the first block of its file (or go on): it holds the
        interpreter while it runs, and a window being built should not have to share it."""
        for fi in self.files:
            if paused:
                fi.go = threading.Event()  # its own: the shared one is never cleared
            else:
                fi.go.set()

    @property
    def progress(self) -> float:
        """Fraction of the bytes indexed so far (1.0 when done)."""
        if self._done.is_set():
            return 1.0
        size = sum(fi.size for fi in self.files)
        return min(1.0, sum(fi.scanned for fi in self.files) / size) if size else 0.0

    def refresh(self) -> int:
        """Index what was appended to the last file since; returns how many frames are new."""
        if not self._done.is_set() or self.merged or not self.files:
            return 0
        before = len(self)
        try:
            self.files[-1].scan()
        except OSError as exc:
            self.problems.append(f"{self.files[-1].name}: stopped reading: {exc}")
        return len(self) - before

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        if self.merged:
            return len(self._order) if self._order is not None else 0
        starts = self._starts
        if not starts:
            return 0
        return starts[-1] + len(self.files[len(starts) - 1])

    def _locate(self, i: int) -> tuple[int, int]:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"frame {i} out of range (0..{n - 1})")
        if self._order is not None:
            packed = self._order[i]
            return packed >> _FILE_BITS, packed & _LINE_MASK
        k = bisect_right(self._starts, i) - 1
        return k, i - self._starts[k]

    def line(self, i: int) -> bytes:
        """The stored line of frame ``i`` as it is in its file."""
        k, j = self._locate(i)
        return self.files[k].line(j)

    def iter_lines(
        self, start: int = 0, block_filter: Callable[[bytes], bool] | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """``(index, line)`` from ``start`` to the current end, in stream order, read in bulk.

        ``block_filter(block)`` returning False skips a whole run of lines at once; it must
        be monotone (true for a run whenever it is true for one of its lines), as substring
        prefilters are.
        """
        end = len(self)
        if self._order is not None or not self._starts:
            for i in range(start, end):
                yield i, self.line(i)
            return
        for k, fi in enumerate(self.files[: len(self._starts)]):
            base = self._starts[k]
            if base + len(fi) > start:
                yield from self._file_lines(fi, base, max(0, start - base), end, block_filter)

    @staticmethod
    def _file_lines(
        fi: FileIndex, base: int, first: int, end: int, block_filter: Callable[[bytes], bool] | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """One file's part of :meth:`iter_lines`: lines ``first`` on, numbered from ``base``."""
        if not fi.clean:
            for j in range(first, min(len(fi), end - base)):
                yield base + j, fi.line(j)
            return
        for j, data, _ends in fi.blocks(first):
            if block_filter is not None and not block_filter(data):
                continue
            for n, line in enumerate(data.splitlines(), base + j):
                if n >= end:
                    return
                yield n, line.strip()

    def search_lines(
        self, anchor_sets: Sequence[Anchors], start: int = 0, binary: bool = True
    ) -> Iterator[tuple[int, bytes]]:
        """``(index, line)`` from ``start`` on, in stream order, skipping lines that cannot hold
        a frame matching a filter with these anchor sets (``Node.anchor_sets``).

        A busconsole recording keeps each frame's bytes verbatim in its line (anchors are
        made of characters JSON never escapes), so only lines holding a needle of the rarest
        set are yielded, plus base64 records (binary frames) unless ``binary`` is False (the
        filter needs a JSON object: ``Node.needs_object``); other files, merged streams and
        files with skipped lines yield every line. Callers still test each frame: this only
        rules lines out.
        """
        files = self.files[: len(self._starts)]
        if not anchor_sets or self._order is not None or not files:
            yield from self.iter_lines(start)
            return
        needles = scan.pick(anchor_sets, files[0].sample())
        assert needles is not None
        end = len(self)
        for k, fi in enumerate(files):
            base = self._starts[k]
            if base + len(fi) <= start or base >= end:
                continue
            first = max(0, start - base)
            if fi.header is None or not fi.clean:
                yield from self._file_lines(fi, base, first, end)
                continue
            for j, line in fi.search(needles, first, also=_BASE64_RECORD if binary else None):
                if base + j >= end:
                    return
                yield base + j, line

    def frame(self, i: int) -> CapturedFrame:
        k, j = self._locate(i)
        fi = self.files[k]
        try:
            line = fi.line(j)
        except (OSError, ValueError) as exc:
            self._report(k, j, f"unreadable ({exc})")
            return detect.malformed_line(b"", i)
        return _line_frame(line, i, lambda what: self._report(k, j, what), fi.name)

    def candidates(self, anchor_sets: Sequence[Anchors], binary: bool = True) -> Iterator[tuple[bytes, CapturedFrame]]:
        """``(line, frame)`` of every frame that can match a filter with these anchor sets, in
        stream order, for one pass over the whole recording (``replay --print``).

        A single busconsole recording not yet indexed is searched straight from the file:
        building the index first would cost as much again. Anything else is indexed (if it
        is not already) and read through :meth:`search_lines`. Callers test each frame.
        """
        fi = self.files[0] if len(self.files) == 1 else None
        if fi is not None and fi.header is not None and anchor_sets and not self._started:
            needles = scan.pick(anchor_sets, fi.sample())
            assert needles is not None
            for offset, line in fi.stream(needles, also=_BASE64_RECORD if binary else None):
                if line.startswith(SESSION_MARK):  # an appended session's header: no frame
                    continue
                frame = read_line(line)
                if frame is None:  # another record shape (binary), or damage: reported by line number
                    frame = _line_frame(line, 0, partial(self._report_at, fi, offset))
                yield line, frame
            return
        if not self._started and not self.merged and len(self.files) > 1:
            yield from self._pass_files(anchor_sets, binary)
            return
        if not self._started:
            self.start(background=False)
        self.wait()
        for i, line in self.search_lines(anchor_sets, 0, binary):
            yield line, self.frame(i)

    def _pass_files(self, anchor_sets: Sequence[Anchors], binary: bool) -> Iterator[tuple[bytes, CapturedFrame]]:
        """:meth:`candidates` over files in time order that do not overlap (a server's log
        folder): each is read once, indexed and searched in memory, then let go, so thousands
        of small files cost about what their bytes cost as one file. The index is complete
        afterwards, as if :meth:`start` had built it."""
        self._started = True
        total = 0
        for k, fi in enumerate(self.files):
            self._starts.append(total)
            try:
                fi.hold()
                fi.scan()
            except OSError as exc:
                self.problems.append(f"{fi.name}: stopped reading: {exc}")
                fi.release()
                total += len(fi)
                continue
            lines: Iterator[tuple[int, bytes]]
            if fi.header is None or not fi.clean or not anchor_sets:
                lines = self._file_lines(fi, total, 0, total + len(fi))
            else:
                needles = scan.pick(anchor_sets, fi.sample())
                assert needles is not None
                lines = ((total + j, line) for j, line in fi.search(needles, 0, also=_BASE64_RECORD if binary else None))
            for i, line in lines:
                yield line, _line_frame(line, i, partial(self._report, k, i - total), fi.name)
            fi.release()
            total += len(fi)
        self._done.set()

    def __iter__(self) -> Iterator[CapturedFrame]:
        for i in range(len(self)):
            yield self.frame(i)

    def _report_at(self, fi: FileIndex, offset: int, what: str) -> None:
        self.problems.append(f"{fi.name}:{fi.offset_line_number(offset)}: {what}")

    def _report(self, k: int, j: int, what: str) -> None:
        if (k, j) in self._reported:
            return
        self._reported.add((k, j))
        try:
            where = str(self.files[k].line_number(j))
        except (OSError, ValueError):
            where = "?"
        self.problems.append(f"{self.files[k].name}:{where}: {what}")

    @property
    def headers(self) -> list[dict[str, object]]:
        return [fi.header for fi in self.files if fi.header is not None]

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            for fi in self.files:  # a paused or long scan must not keep the closing waiting
                fi.stopping = True
                fi.go.set()
            self._thread.join()
        for fi in self.files:
            fi.close()
        for tmp in self._temps:
            tmp.close()
        self._temps.clear()

    def __enter__(self) -> Recording:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_recording(
    paths: Sequence[str | Path], follow: bool = False, background: bool = True, start: bool = True
) -> Recording:
    """Open recordings, plain event JSONL and store-server debug logs as one time-ordered stream.

    The index is built in a thread (``background``), at once, or (``start=False``) not yet:
    :meth:`Recording.candidates` may then do without it.

    Raises :class:`RecordingError` when a path is missing or unreadable, or a file was
    written by a newer busconsole. Damaged lines do not raise: they land in ``.problems``.
    """
    problems: list[str] = []
    temps: list[Inflated] = []
    files: list[FileIndex] = []
    kept = 0  # bytes of small files held from their header read until their scan
    try:
        for path in expand(paths, problems):
            real = path
            if path.name.endswith(".gz"):
                temps.append(inflate(path, problems))
                real = temps[-1].path
            fi = FileIndex(real, str(path), problems, follow=follow and real is path)
            kept += fi.read_header(keep_small=kept < SMALL_FILES_BUDGET)
            files.append(fi)
        merge = False
        if len(files) > 1:
            files, merge = _arrange(files)
    except FormatError as exc:
        _remove(temps)
        raise RecordingError(str(exc)) from exc
    except OSError as exc:
        _remove(temps)
        raise RecordingError(f"cannot read: {exc}") from exc
    rec = Recording(files, merge, follow, temps, problems)
    return rec.start(background) if start else rec


def _line_frame(line: bytes, seq: int, report: Callable[[str], None], source: str | None = None) -> CapturedFrame:
    """The frame of a frame line; a line that is not one is reported and shown as malformed.
    ``source`` (the file's name) gives an ``<entity>/history.jsonl`` line its entity."""
    fast = read_line(line)
    if fast is not None:
        return fast
    obj = detect.parse_line(line)
    if obj is None or is_header(obj):
        report("not a JSON frame; shown as malformed")
        return detect.malformed_line(line, seq)
    try:
        return detect.line_frame(line, obj, seq, source)
    except FormatError as exc:
        report(f"{exc}; shown as malformed")
        return detect.malformed_line(line, seq)


def _arrange(files: list[FileIndex]) -> tuple[list[FileIndex], bool]:
    """Files oldest first, and whether their time ranges overlap (then they need a merge)."""
    edges = [fi.edge_times() for fi in files]
    if any(first is None or last is None for first, last in edges):
        return files, True
    ranked = sorted(zip(edges, range(len(files)), strict=True))
    ordered = [files[k] for _, k in ranked]
    overlap = any(a[0][1] > b[0][0] for a, b in zip(ranked, ranked[1:], strict=False))  # type: ignore[operator]
    return ordered, overlap


def _or_zero(t: float | None) -> float:
    return 0.0 if t is None else t


def _remove(temps: list[Inflated]) -> None:
    for t in temps:
        t.close()
