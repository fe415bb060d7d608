"""CapturedFrame: one frame as busconsole saw it, raw bytes first, parsed only when asked.

Keeping the raw bytes (not a parsed dict) is what lets a session hold a million
frames: parsing is lazy and cached per object, and the store may drop the object
and rebuild it from its compact columns. How a frame is written to a file is the
recording format's business (:mod:`busconsole.recording.format`), not the frame's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from busconsole.wire import Malformed, decode

Direction = Literal["in", "out"]
IN: Direction = "in"
OUT: Direction = "out"


@dataclass(slots=True, eq=False)
class CapturedFrame:
    seq: int
    t: float  # wall clock when captured, epoch milliseconds
    dir: Direction  # from busconsole's side as a client: "out" = towards the server
    conn: str
    raw: bytes
    binary: bool = False
    _obj: dict[str, Any] | Malformed | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def decoded(self) -> dict[str, Any] | Malformed:
        """The JSON object of the frame (cheap: orjson only), or why it is malformed."""
        if self._obj is None:
            self._obj = decode(self.raw, self.binary)
        return self._obj

    @property
    def obj(self) -> dict[str, Any] | None:
        d = self.decoded
        return None if isinstance(d, Malformed) else d

    @property
    def malformed(self) -> Malformed | None:
        """Why the frame is not a bus frame (the one decode's verdict), or None."""
        d = self.decoded
        return d if isinstance(d, Malformed) else None

    @property
    def type(self) -> str:
        """Upper-cased frame type, ``MALFORMED`` when there is none."""
        o = self.obj
        if o is None:
            return "MALFORMED"
        return str(o["type"]).upper()

    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")
