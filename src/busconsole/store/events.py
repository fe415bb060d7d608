"""EventStore: the session's frames in compact columns, with indexes and counts.

A million frames must fit beside their raw bytes with a couple of hundred bytes each,
so there is no Python object per frame: raw bytes sit in large chunks (one buffer and
an end-offset array per chunk), per-frame fields in typed arrays, the strings of a frame
interned as its *shape* (type, entity, op, conn, dir, levels: a few hundred recur), and the
one per-frame index is an ``array('I')`` of frame indices per shape; ``positions`` merges
the shapes that match and keeps the merge, extending it as frames arrive.
``facts(i)`` and ``frame(i)`` rebuild objects on demand, and ``scan_raw`` searches whole
chunk buffers at once, which is how a text filter gets through a million frames.

The window is bounded by frame count and raw bytes; the oldest chunk goes first. A
frame index never changes, and evicted frames stay readable through ``source`` (the
recording's offset index) when the session is recorded. Indexes, counts, pairing,
state history and console entries cover the in-memory window only.
"""

from __future__ import annotations

import bisect
import itertools
import time
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import orjson

from busconsole.console import ConsoleLog
from busconsole.facts import FrameFacts, frame_fields
from busconsole.filtering import scan
from busconsole.filtering.nodes import Anchors
from busconsole.frames import CapturedFrame
from busconsole.pairing import Pairing
from busconsole.state import EntityState
from busconsole.store.chunks import (
    BINARY,
    CONSOLE,
    FIELD,
    FLAG_BITS,
    HAS_REQ,
    MALFORMED,
    ODD_REQ,
    STATE,
    Chunk,
    Info,
    Shape,
    Shapes,
)
from busconsole.wire import decode

if TYPE_CHECKING:
    from busconsole.doctor.marks import Marks

INDEX_KEYS = ("type", "entity", "req", "conn", "level", "op", "dir")
_CHUNK_FRAMES = 4096
_POSITIONS_CACHED = 32  # (key, value) merges kept between appends
MARKS_SECONDS = 1.0  # how often a growing store's doctor flags are worked out again

class FrameSource(Protocol):
    """Frames by session index, e.g. a recording read through its offset index."""

    def __len__(self) -> int: ...

    def frame(self, i: int) -> CapturedFrame: ...


class EventStore:
    """The session: append frames, ask for facts, positions and counts."""

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
        self._chunks: list[Chunk] = []
        self._open: Chunk | None = None  # the last chunk, still growing
        self._starts: list[int] = []
        self._count = 0
        self._held = 0  # frames in memory
        self._bytes = 0  # raw bytes in memory
        # The only per-frame index is by shape; positions(key, value) merges the shapes that match.
        self._shapes = Shapes()
        self._fast: dict[tuple[Any, ...], Info] = {}  # (raw type, entity, operation, conn, dir) -> info
        self._merged: dict[tuple[str, str], tuple[int, array[int]]] = {}  # -> (frames covered, positions)
        self._reqs: dict[int, int] = {}  # hash(requestId) -> first frame carrying it
        self._req_more: dict[int, list[int]] = {}  # further frames, other than its pair
        self._odd_reqs: dict[int, str] = {}  # frame -> requestId not found verbatim in its bytes
        self._errors = array("I")
        self.pairing = Pairing(pairing_timeout)
        self.state = EntityState(self._obj_at)
        self.console = ConsoleLog(self._obj_at)
        self.marks: Marks | None = None  # the doctor's flags (is:leak...), for the frames it saw
        self._marked_at = 0.0

    # ------------------------------------------------------------------ appending

    def append(self, frame: CapturedFrame) -> int:
        """Add a frame; returns its index in the session.

        This runs for every frame of a live stream (20k a second), so the common path is
        flat: the object is decoded once, its shape found with one dict lookup on the raw
        field values, and a frame costs five array appends plus what pairing needs.
        """
        index = self._count
        raw = frame.raw
        size = len(raw)
        obj = frame._obj
        if obj is None:
            try:  # what decode() does, without its checks for the usual well-formed frame
                obj = None if frame.binary else orjson.loads(raw)
            except orjson.JSONDecodeError:
                obj = None
            if obj.__class__ is not dict or obj.get("type").__class__ is not str:
                obj = decode(raw, frame.binary)
            frame._obj = obj
        if obj.__class__ is not dict:
            obj = None
        req: Any = None
        if obj is None:
            info = self._info(None, frame)
            flags = MALFORMED | (BINARY if frame.binary else 0)
        else:
            try:
                found = self._fast.get((obj["type"], obj.get("entity"), obj.get("operation"), frame.conn, frame.dir))
            except TypeError:  # an unhashable entity or operation
                found = None
            info = found or self._info(obj, frame)
            flags = 0
            req = obj.get("requestId")
        word, type_, entity, op, positions, error, sink = info
        c = self._open
        if c is None or len(c.ends) >= self._chunk_frames or (c.ends and len(c.raw) + size > self._chunk_bytes):
            c = self._new_chunk()
        if req is not None:
            flags |= HAS_REQ
            at = -1
            if req.__class__ is str:
                needle = req.encode("utf-8", "surrogatepass")
                if len(needle) <= 0xFFFF:
                    at = raw.find(needle)
            else:
                req = str(req)
            if at < 0:
                flags |= ODD_REQ
                self._odd_reqs[index] = req
            else:
                c.req_k.append(len(c.ends))
                c.req_span.append(at << 16 | len(needle))
        t = frame.t
        c.raw += raw
        c.ends.append(len(c.raw))
        c.t.append(t)
        c.seq.append(frame.seq)
        c.shape.append(word | flags)
        positions.append(index)
        self._count = index + 1
        self._held += 1
        self._bytes += size
        answered = self.pairing.observe(index, t, type_, entity, op, req, frame.conn, obj)
        if req is not None:
            h = hash(req)
            first = self._reqs.setdefault(h, index)
            if first != index and first != answered:  # the reply to `first` is reached through its pair
                self._req_more.setdefault(h, []).append(index)
        if answered is not None and type_ == "ERROR":
            self._error(answered)  # the request failed
        if error or obj is None:
            self._error(index)
        if sink is STATE:
            self.state.observe(index, type_, entity, obj, frame.conn)  # type: ignore[arg-type]  # sinks imply an object
        elif sink is CONSOLE:
            self.console.observe(index, obj)  # type: ignore[arg-type]
        if self._held > self.max_frames or self._bytes > self.max_bytes:
            self._evict_if_needed()
        return index

    def extend(self, frames: Iterable[CapturedFrame]) -> None:
        for frame in frames:
            self.append(frame)

    def _new_chunk(self) -> Chunk:
        if self._open is not None:
            self._open.seal()
        c = self._open = Chunk(self._count)
        self._chunks.append(c)
        self._starts.append(self._count)
        return c

    def _info(self, obj: dict[str, Any] | None, frame: CapturedFrame) -> Info:
        """The shape of a frame the fast lookup missed; remembered for the next frame like it,
        unless its levels vary (console batches) or its raw fields are not plain strings."""
        if obj is None:
            key: Shape = ("MALFORMED", None, None, frame.conn, frame.dir, frozenset())
        else:
            type_, entity, op, levels = frame_fields(obj)
            key = (type_, entity, op, frame.conn, frame.dir, levels)
        info = self._shapes.info(key)
        if obj is not None and key[0] != "CONSOLE_LOGS":
            raw_entity, raw_op = obj.get("entity"), obj.get("operation")
            if (raw_entity is None or raw_entity.__class__ is str) and (raw_op is None or raw_op.__class__ is str):
                self._fast[(obj["type"], raw_entity, raw_op, frame.conn, frame.dir)] = info
        return info

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
        for info in self._shapes.used():
            del info[4][: bisect.bisect_left(info[4], before)]
        self._merged.clear()
        del self._errors[: bisect.bisect_left(self._errors, before)]
        while self._odd_reqs and next(iter(self._odd_reqs)) < before:
            del self._odd_reqs[next(iter(self._odd_reqs))]
        self.pairing.evict(before)
        self.state.evict(before)
        self.console.evict(before)

    def _evict_reqs(self, c: Chunk, before: int) -> None:
        """Keep the requestId index pointing at frames still held (runs before pairing forgets)."""
        for k, word in enumerate(c.shape):
            if not word & HAS_REQ:
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

    def _locate(self, i: int) -> tuple[Chunk, int] | None:
        if i < self.window_start or i >= self._count:
            return None
        c = self._chunks[bisect.bisect_right(self._starts, i) - 1]
        return c, i - c.start

    def _shape(self, c: Chunk, k: int) -> Shape:
        return self._shapes.names[c.shape[k] >> FLAG_BITS]

    def _req_in(self, c: Chunk, k: int) -> str | None:
        flags = c.flags(k)
        if not flags & HAS_REQ:
            return None
        if flags & ODD_REQ:
            return self._odd_reqs[c.start + k]
        span = c.req_span[bisect.bisect_left(c.req_k, k)]
        start = c.bounds(k)[0] + (span >> 16)
        return bytes(c.raw[start : start + (span & 0xFFFF)]).decode("utf-8", "surrogatepass")

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
                             bool(c.flags(k) & BINARY))

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
        flags = c.flags(k)
        lo, hi = c.bounds(k)
        f.seq, f.t, f.size = c.seq[k], c.t[k], hi - lo
        f.type, f.entity, f.op, f.conn, f.dir, f.levels = self._shape(c, k)
        f.req = self._req_in(c, k)
        f.malformed = bool(flags & MALFORMED)
        p = self.pairing
        f.latency = p.latency(i)
        f.pending = p.is_pending(i)
        f.timed_out = p.is_timed_out(i, now)
        f.orphan = p.is_orphan(i)
        f.failed = p.is_failed(i)
        f.guessed = p.is_guessed(i)
        f.marks_of = self.marks_of
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
        if key not in INDEX_KEYS:
            raise KeyError(f"no index on {key!r}; indexed keys: {', '.join(INDEX_KEYS)}")
        if key in ("type", "op"):
            value = value.upper()
        elif key == "level":
            value = value.lower()
        columns = [info[4] for info in self._shapes.used() if value in self._values_of(info[0], key)]
        if len(columns) <= 1:
            return array("I", columns[0] if columns else ())
        covered, merged = self._merged.get((key, value), (self.window_start, array("I")))
        if covered < self._count:  # frames appended since: only they need merging
            tails = [column[bisect.bisect_left(column, covered):] for column in columns]
            merged.extend(sorted(itertools.chain.from_iterable(tails)))
            if len(self._merged) >= _POSITIONS_CACHED:
                self._merged.clear()
            self._merged[(key, value)] = (self._count, merged)
        return array("I", merged)

    def _values_of(self, word: int, key: str) -> Collection[str]:
        """What frames of a shape have for the indexed ``key`` (levels: any number of them)."""
        fields = self._shapes.names[word >> FLAG_BITS]
        if key == "level":
            return fields[5]
        value = fields[FIELD[key]]
        return () if value is None else (cast(str, value),)

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

    def values(self, key: str, before: int | None = None) -> dict[str, int]:
        """Each value seen for an indexed key (not ``req``) in the window, with its frame count
        (of the frames before index ``before``, when given)."""
        if key not in INDEX_KEYS or key == "req":
            tables = ", ".join(k for k in INDEX_KEYS if k != "req")
            raise KeyError(f"no value table for {key!r}; one of {tables}")
        out: dict[str, int] = {}
        for info in self._shapes.used():
            for value in self._values_of(info[0], key):
                n = len(info[4]) if before is None else bisect.bisect_left(info[4], before)
                if n:
                    out[value] = out.get(value, 0) + n
        return out

    def marks_of(self, i: int) -> frozenset[str]:
        """The doctor's flags on frame ``i`` (``is:leak``, ``is:retry``...), from a pass over the
        window (default thresholds). A store that grew is passed over again, at most every
        MARKS_SECONDS: a live stream's marks follow it without a pass per frame."""
        stale = self.marks is None or self.marks.covered != len(self)
        if stale and (self.marks is None or time.monotonic() - self._marked_at >= MARKS_SECONDS):
            from busconsole.doctor import diagnose

            self.marks = diagnose(self).marks
            self._marked_at = time.monotonic()
        assert self.marks is not None
        return self.marks.of(i)

    def error_positions(self) -> Sequence[int]:
        """Ascending indices of frames whose ``facts.error`` is true, for next/previous-error."""
        return array("I", self._errors)

    def _error(self, index: int) -> None:
        """Note that frame ``index`` counts as an error: itself, or a request whose reply failed
        (then it may be older than errors already noted)."""
        errors = self._errors
        if errors and index < errors[-1]:
            bisect.insort(errors, index)
        else:
            errors.append(index)
