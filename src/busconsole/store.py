"""EventStore: the session's frames in compact columns, with indexes, counts and rates.

A million frames must fit beside their raw bytes with a couple of hundred bytes each,
so there is no Python object per frame: raw bytes sit in large chunks (one buffer and
an end-offset array per chunk), per-frame fields in typed arrays (strings interned into
small tables), and every index is an ``array('I')`` of frame indices per value.
``facts(i)`` and ``frame(i)`` rebuild objects on demand, and ``scan_raw`` searches whole
chunk buffers at once, which is how a text filter gets through a million frames.

The window is bounded by frame count and raw bytes; the oldest chunk goes first. A
frame index never changes, and evicted frames stay readable through ``source`` (the
recording's offset index) when the session is recorded. Indexes, counts, pairing,
state history and console entries cover the in-memory window only.
"""

from __future__ import annotations

import bisect
import time
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from busconsole.console import ConsoleLog
from busconsole.facts import FrameFacts
from busconsole.filtering import scan
from busconsole.filtering.nodes import Anchors
from busconsole.frames import IN, CapturedFrame, Direction
from busconsole.pairing import Pairing
from busconsole.state import EntityState

INDEX_KEYS = ("type", "entity", "req", "conn", "level", "op", "dir")
_CHUNK_FRAMES = 4096
_BUCKET_MS = 100  # rate resolution
_RATE_WINDOWS = (1000, 10_000, 60_000)

_BINARY, _MALFORMED, _HAS_REQ, _ODD_REQ = 1, 2, 4, 8

T = TypeVar("T")
Shape = tuple[str, str | None, str | None, str, Direction, frozenset[str]]  # type entity op conn dir levels
_NO_SHAPE: Shape = ("MALFORMED", None, None, "", IN, frozenset())


class FrameSource(Protocol):
    """Frames by session index, e.g. a recording read through its offset index."""

    def __len__(self) -> int: ...

    def frame(self, i: int) -> CapturedFrame: ...


class _Table(Generic[T]):
    """Interned values: a frame stores a small id, id 0 meaning "none"."""

    __slots__ = ("ids", "names")

    def __init__(self) -> None:
        self.names: list[T | None] = [None]
        self.ids: dict[T, int] = {}

    def id(self, name: T | None) -> int:
        if name is None:
            return 0
        i = self.ids.get(name)
        if i is None:
            i = self.ids[name] = len(self.names)
            self.names.append(name)
        return i


class _Chunk:
    """Up to a few thousand consecutive frames: raw bytes in one buffer plus their columns."""

    __slots__ = ("start", "raw", "ends", "t", "seq", "shape", "flags", "req_at", "req_len")

    def __init__(self, start: int) -> None:
        self.start = start
        self.raw: bytearray | bytes = bytearray()
        self.ends = array("I")
        self.t = array("d")
        self.seq = array("q")
        self.shape = array("I")  # id of (type, entity, op, conn, dir, levels)
        self.flags = bytearray()
        self.req_at = array("I")  # where the requestId's bytes sit inside the raw frame
        self.req_len = array("H")

    def __len__(self) -> int:
        return len(self.ends)

    def bounds(self, k: int) -> tuple[int, int]:
        return (self.ends[k - 1] if k else 0), self.ends[k]

    def seal(self) -> None:
        """Drop the buffer's growth slack once the chunk is full."""
        self.raw = bytes(self.raw)


def _locate_req(raw: bytes, req: str, obj: dict[str, Any] | None) -> tuple[int, int] | None:
    """Where the UTF-8 bytes of a string requestId appear verbatim in the frame (any occurrence
    decodes to the same string), or None when it is escaped or not a string."""
    if obj is None or not isinstance(obj.get("requestId"), str):
        return None
    needle = req.encode("utf-8", "surrogatepass")
    at = raw.find(needle)
    return None if at < 0 or len(needle) > 0xFFFF else (at, len(needle))


class EventStore:
    """The session: append frames, ask for facts, positions, counts and rates."""

    def __init__(
        self,
        max_frames: int = 1_000_000,
        max_bytes: int = 256 * 2**20,
        pairing_timeout: float = 30.0,
        source: FrameSource | None = None,
    ) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.source = source
        self._chunk_frames = max(1, min(_CHUNK_FRAMES, max_frames // 8))
        self._chunk_bytes = max(1, max_bytes // 16)
        self._chunks: list[_Chunk] = []
        self._starts: list[int] = []
        self._count = 0
        self._held = 0  # frames in memory
        self._bytes = 0  # raw bytes in memory
        self._shapes: _Table[Shape] = _Table()
        self._shape_columns: dict[int, tuple[array[int], ...]] = {}  # shape -> its index columns
        self._index: dict[str, dict[str, array[int]]] = {k: {} for k in INDEX_KEYS if k != "req"}
        self._reqs: dict[int, int] = {}  # hash(requestId) -> first frame carrying it
        self._req_more: dict[int, list[int]] = {}  # further frames, other than its pair
        self._odd_reqs: dict[int, str] = {}  # frame -> requestId not found verbatim in its bytes
        self._errors = array("I")
        self._buckets: deque[list[int]] = deque()  # [bucket, frames], ascending
        self.pairing = Pairing(pairing_timeout)
        self.state = EntityState(self._obj_at)
        self.console = ConsoleLog(self._obj_at)

    # ------------------------------------------------------------------ appending

    def append(self, frame: CapturedFrame) -> int:
        """Add a frame; returns its index in the session.

        This runs for every frame of a live stream, so the common path is kept flat:
        attribute lookups hoisted, no helper call where a test suffices.
        """
        index = self._count
        raw = frame.raw
        size = len(raw)
        ff = FrameFacts(frame, index)
        obj = frame.obj
        chunks = self._chunks
        c = chunks[-1] if chunks else None
        if c is None or len(c.ends) >= self._chunk_frames or (c.ends and c.ends[-1] + size > self._chunk_bytes):
            c = self._new_chunk()
        flags = (_BINARY if frame.binary else 0) | (_MALFORMED if ff.malformed else 0)
        at = length = 0
        req = ff.req
        if req is not None:
            flags |= _HAS_REQ
            where = _locate_req(raw, req, obj)
            if where is None:
                flags |= _ODD_REQ
                self._odd_reqs[index] = req
            else:
                at, length = where
        key = (ff.type, ff.entity, ff.op, ff.conn, ff.dir, ff.levels)
        shape = self._shapes.ids.get(key) or self._shapes.id(key)
        columns = self._shape_columns.get(shape) or self._columns_of(shape)
        c.raw += raw
        c.ends.append(c.ends[-1] + size if c.ends else size)
        c.t.append(frame.t)
        c.seq.append(frame.seq)
        c.shape.append(shape)
        c.flags.append(flags)
        c.req_at.append(at)
        c.req_len.append(length)
        for column in columns:
            column.append(index)
        self._count = index + 1
        self._held += 1
        self._bytes += size
        buckets = self._buckets
        if buckets and buckets[-1][0] == int(frame.t // _BUCKET_MS):
            buckets[-1][1] += 1  # the usual case: same 100 ms as the previous frame
        else:
            self._count_rate(frame.t)
        self._observe(index, ff, obj)
        if self._held > self.max_frames or self._bytes > self.max_bytes:
            self._evict_if_needed()
        return index

    def extend(self, frames: Iterable[CapturedFrame]) -> None:
        for frame in frames:
            self.append(frame)

    def _new_chunk(self) -> _Chunk:
        if self._chunks:
            self._chunks[-1].seal()
        c = _Chunk(self._count)
        self._chunks.append(c)
        self._starts.append(self._count)
        return c

    def _columns_of(self, shape: int) -> tuple[array[int], ...]:
        """The index columns a frame of this shape goes into, cached: few shapes recur."""
        type_, entity, op, conn, direction, levels = self._shapes.names[shape] or _NO_SHAPE
        pairs = [("type", type_), ("entity", entity), ("op", op), ("conn", conn), ("dir", direction),
                 *(("level", lv) for lv in sorted(levels))]
        columns = tuple(self._index[k].setdefault(v, array("I")) for k, v in pairs if v is not None)
        self._shape_columns[shape] = columns
        return columns

    def _index_req(self, index: int, req: str, answered: int | None) -> None:
        h = hash(req)
        first = self._reqs.setdefault(h, index)
        if first != index and first != answered:  # the reply to `first` is reached through its pair
            self._req_more.setdefault(h, []).append(index)

    def _observe(self, index: int, ff: FrameFacts, obj: dict[str, Any] | None) -> None:
        answered = self.pairing.observe(index, ff.t, ff.type, ff.entity, ff.op, ff.req, ff.conn)
        if ff.req is not None:
            self._index_req(index, ff.req, answered)
        if answered is not None and ff.type == "ERROR":
            bisect.insort(self._errors, answered)  # the request failed
        if ff.error:
            self._errors.append(index)
        if obj is None:
            return
        self.state.observe(index, ff.type, ff.entity, obj)
        if ff.type == "CONSOLE_LOGS":
            self.console.observe(index, obj)

    def _count_rate(self, t: float) -> None:
        bucket = int(t // _BUCKET_MS)
        buckets = self._buckets
        if not buckets or bucket > buckets[-1][0]:
            buckets.append([bucket, 1])
            horizon = bucket - _RATE_WINDOWS[-1] // _BUCKET_MS
            while buckets[0][0] < horizon:
                buckets.popleft()
            return
        for pos in range(len(buckets) - 1, -1, -1):  # captured out of order: usually a step back
            if buckets[pos][0] == bucket:
                buckets[pos][1] += 1
                return
            if buckets[pos][0] < bucket:
                buckets.insert(pos + 1, [bucket, 1])
                return
        if bucket >= buckets[-1][0] - _RATE_WINDOWS[-1] // _BUCKET_MS:
            buckets.appendleft([bucket, 1])

    # ------------------------------------------------------------------ window

    def _evict_if_needed(self) -> None:
        while len(self._chunks) > 1 and (self._held > self.max_frames or self._bytes > self.max_bytes):
            self._evict_chunk()

    def _evict_chunk(self) -> None:
        c = self._chunks.pop(0)
        self._starts.pop(0)
        before = c.start + len(c)
        self._held -= len(c)
        self._bytes -= len(c.raw)
        self._evict_reqs(c, before)
        for values in self._index.values():
            for value in list(values):
                column = values[value]
                del column[: bisect.bisect_left(column, before)]
                if not column:
                    del values[value]
        self._shape_columns.clear()  # it may hold columns just dropped from the index
        del self._errors[: bisect.bisect_left(self._errors, before)]
        while self._odd_reqs and next(iter(self._odd_reqs)) < before:
            del self._odd_reqs[next(iter(self._odd_reqs))]
        self.pairing.evict(before)
        self.state.evict(before)
        self.console.evict(before)

    def _evict_reqs(self, c: _Chunk, before: int) -> None:
        """Keep the requestId index pointing at frames still held (runs before pairing forgets)."""
        for k, flags in enumerate(c.flags):
            if not flags & _HAS_REQ:
                continue
            index = c.start + k
            req = self._req_in(c, k)
            h = hash(req)
            if self._reqs.get(h) != index:
                continue
            pair = self.pairing.pair_of(index)
            rest = [i for i in self._req_more.pop(h, []) if i >= before]
            if pair is not None and pair.reply >= before and self._req(pair.reply) == req:
                rest.append(pair.reply)
            rest.sort()
            if rest:
                self._reqs[h] = rest[0]
                if rest[1:]:
                    self._req_more[h] = rest[1:]
            else:
                del self._reqs[h]

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return self._count

    @property
    def window_start(self) -> int:
        """Oldest index held in memory (indexes, counts and pairing cover from here on)."""
        return self._starts[0] if self._starts else self._count

    @property
    def first_index(self) -> int:
        """Oldest index still readable, in memory or through ``source``."""
        if self.source is not None and len(self.source):
            return 0
        return self.window_start

    def _locate(self, i: int) -> tuple[_Chunk, int] | None:
        if i < self.window_start or i >= self._count:
            return None
        c = self._chunks[bisect.bisect_right(self._starts, i) - 1]
        return c, i - c.start

    def _shape(self, c: _Chunk, k: int) -> Shape:
        return self._shapes.names[c.shape[k]] or _NO_SHAPE

    def _req_in(self, c: _Chunk, k: int) -> str | None:
        flags = c.flags[k]
        if not flags & _HAS_REQ:
            return None
        if flags & _ODD_REQ:
            return self._odd_reqs[c.start + k]
        start = c.bounds(k)[0] + c.req_at[k]
        return bytes(c.raw[start : start + c.req_len[k]]).decode("utf-8", "surrogatepass")

    def _req(self, i: int) -> str | None:
        loc = self._locate(i)
        return None if loc is None else self._req_in(*loc)

    def frame(self, i: int) -> CapturedFrame:
        """Frame ``i``, rebuilt from memory or read back from ``source``; LookupError if gone."""
        loc = self._locate(i)
        if loc is None:
            if 0 <= i < self.window_start and self.source is not None and i < len(self.source):
                return self.source.frame(i)
            raise LookupError(f"frame {i} is not available")
        c, k = loc
        lo, hi = c.bounds(k)
        shape = self._shape(c, k)
        return CapturedFrame(c.seq[k], c.t[k], shape[4], shape[3], bytes(c.raw[lo:hi]),
                             bool(c.flags[k] & _BINARY))

    def _obj_at(self, i: int) -> dict[str, Any] | None:
        try:
            return self.frame(i).obj
        except LookupError:
            return None

    def facts(self, i: int, now: float | None = None) -> FrameFacts:
        """The facts of frame ``i`` with its pairing state at ``now`` (epoch ms, default: now)."""
        loc = self._locate(i)
        if loc is None:
            return FrameFacts(self.frame(i), i, self.frame)
        c, k = loc
        f = FrameFacts(None, i, self.frame)
        flags = c.flags[k]
        lo, hi = c.bounds(k)
        f.seq, f.t, f.size = c.seq[k], c.t[k], hi - lo
        f.type, f.entity, f.op, f.conn, f.dir, f.levels = self._shape(c, k)
        f.req = self._req_in(c, k)
        f.malformed = bool(flags & _MALFORMED)
        p = self.pairing
        f.latency = p.latency(i)
        f.pending = p.is_pending(i)
        f.timed_out = p.is_timed_out(i, now)
        f.orphan = p.is_orphan(i)
        f.failed = p.is_failed(i)
        return f

    def scan_raw(
        self, anchor_sets: Sequence[Anchors], start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """``(index, lower-cased raw bytes)`` of the frames in the window within ``[start, stop)``
        that contain a needle of one of the anchor sets (the one rarest in the first chunk).

        Each chunk is lower-cased once and searched in C, so a filter's text terms cost
        about one pass over memory instead of a ``frame(i)`` per frame.
        """
        lo_i = max(start, self.window_start)
        hi_i = self._count if stop is None else min(stop, self._count)
        needles: Anchors | None = None
        for c in list(self._chunks):
            k0, k1 = max(lo_i - c.start, 0), min(hi_i - c.start, len(c))
            if k0 >= k1:
                continue
            lo, hi = c.bounds(k0)[0], c.ends[k1 - 1]
            raw = c.raw[lo:hi]
            low = (raw if isinstance(raw, bytes) else bytes(raw)).lower()
            if needles is None:
                needles = scan.pick(anchor_sets, low[: 1 << 18])
                if needles is None:
                    raise ValueError("scan_raw needs at least one anchor set")
            ends = c.ends
            for k in scan.hits(low, needles, ends, lo):
                yield c.start + k, low[(ends[k - 1] if k else 0) - lo : ends[k] - lo]

    def positions(self, key: str, value: str) -> Sequence[int]:
        """Ascending indices (in the window) of frames whose ``key`` equals ``value``."""
        if key == "req":
            return self._req_positions(value)
        if key not in self._index:
            raise KeyError(f"no index on {key!r}; indexed keys: {', '.join(INDEX_KEYS)}")
        if key in ("type", "op"):
            value = value.upper()
        elif key == "level":
            value = value.lower()
        return array("I", self._index[key].get(value, ()))

    def _req_positions(self, req: str) -> Sequence[int]:
        h = hash(req)
        first = self._reqs.get(h)
        if first is None:
            return array("I")
        candidates = {first, *self._req_more.get(h, ())}
        pair = self.pairing.pair_of(first)
        if pair is not None:
            candidates.add(pair.reply)
        return array("I", sorted(i for i in candidates if self._req(i) == req))

    def values(self, key: str) -> dict[str, int]:
        """Each value seen for an indexed key (not ``req``) in the window, with its frame count."""
        if key not in self._index:
            raise KeyError(f"no value table for {key!r}; one of {', '.join(self._index)}")
        return {value: len(column) for value, column in self._index[key].items()}

    def counts_by_type(self) -> dict[str, int]:
        return self.values("type")

    def counts_by_entity(self) -> dict[str, int]:
        return self.values("entity")

    def error_positions(self) -> Sequence[int]:
        """Ascending indices of frames whose ``facts.error`` is true, for next/previous-error."""
        return array("I", self._errors)

    def rates(self, now: float | None = None) -> tuple[float, float, float]:
        """Frames per second over the last 1 s, 10 s and 60 s of capture time, to 0.1 s."""
        at = time.time() * 1000 if now is None else now
        out = []
        for window in _RATE_WINDOWS:
            low, top = (at - window) / _BUCKET_MS - 1, at / _BUCKET_MS  # buckets meeting (at - window, at]
            n = sum(count for bucket, count in self._buckets if low < bucket <= top)
            out.append(n * 1000 / window)
        return out[0], out[1], out[2]
