"""The compact columns of the event store: interned frame shapes and chunks of raw bytes.

A frame stores a small shape id (type, entity, op, conn, dir, levels: a few hundred recur)
instead of its strings, and chunks hold a few thousand frames' raw bytes in one buffer with
their per-frame columns in typed arrays: no Python object per frame.
"""

from __future__ import annotations

from array import array

from busconsole.frames import IN, Direction
from busconsole.state import STATE_TYPES

BINARY, MALFORMED, HAS_REQ, ODD_REQ = 1, 2, 4, 8  # low bits of a frame's shape word
FLAG_BITS = 4
FIELD = {"type": 0, "entity": 1, "op": 2, "conn": 3, "dir": 4}

Shape = tuple[str, str | None, str | None, str, Direction, frozenset[str]]  # type entity op conn dir levels
NO_SHAPE: Shape = ("MALFORMED", None, None, "", IN, frozenset())
# what append needs of a shape: id << FLAG_BITS, type, entity, op, its frames, whether they are
# errors, and who else wants their objects
STATE, CONSOLE = "state", "console"
Info = tuple[int, str, str | None, str | None, "array[int]", bool, str | None]



class Shapes:
    """Interned shapes: a frame stores a small id; each shape keeps the indices of its frames."""

    __slots__ = ("ids", "infos", "names")

    def __init__(self) -> None:
        self.names: list[Shape] = [NO_SHAPE]  # id 0 is never given out
        self.ids: dict[Shape, int] = {}
        self.infos: list[Info] = [(0, *NO_SHAPE[:3], array("I"), False, None)]

    def info(self, key: Shape) -> Info:
        shape = self.ids.get(key)
        if shape is None:
            shape = self.ids[key] = len(self.names)
            self.names.append(key)
            type_ = key[0]
            sink = STATE if type_ in STATE_TYPES else CONSOLE if type_ == "CONSOLE_LOGS" else None
            error = type_ == "ERROR" or "error" in key[5]
            self.infos.append((shape << FLAG_BITS, type_, key[1], key[2], array("I"), error, sink))
        return self.infos[shape]

    def used(self) -> list[Info]:
        return self.infos[1:]


class Chunk:
    """Up to a few thousand consecutive frames: raw bytes in one buffer plus their columns."""

    __slots__ = ("start", "raw", "ends", "t", "seq", "shape", "req_k", "req_span")

    def __init__(self, start: int) -> None:
        self.start = start
        self.raw: bytearray | bytes = bytearray()
        self.ends = array("I")
        self.t = array("d")
        self.seq = array("q")
        self.shape = array("I")  # shape id << FLAG_BITS | flags
        self.req_k = array("I")  # the frames (chunk-relative) whose requestId sits verbatim in raw,
        self.req_span = array("Q")  # and where: offset << 16 | length

    def __len__(self) -> int:
        return len(self.ends)

    def bounds(self, k: int) -> tuple[int, int]:
        return (self.ends[k - 1] if k else 0), self.ends[k]

    def flags(self, k: int) -> int:
        return self.shape[k] & ((1 << FLAG_BITS) - 1)

    def seal(self) -> None:
        """Drop the buffer's growth slack once the chunk is full."""
        self.raw = bytes(self.raw)
