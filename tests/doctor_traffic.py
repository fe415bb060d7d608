"""Generated bus traffic for the doctor's tests: frames as a recording holds them."""

from __future__ import annotations

from pathlib import Path

import orjson

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.writer import RecordingWriter

T0 = 1_758_332_000_000.0


class Traffic:
    """Frames as a recording holds them; ``query`` answers itself unless told otherwise."""

    def __init__(self) -> None:
        self.frames: list[CapturedFrame] = []
        self._req = 0

    def add(self, t: float, direction: str, conn: str, obj: dict[str, object]) -> None:
        raw = orjson.dumps(obj)
        self.frames.append(CapturedFrame(len(self.frames), T0 + t, OUT if direction == "out" else IN, conn, raw))

    def query(self, t: float, conn: str = "c1", entity: str = "partner", criteria: object = None,
              req: bool = True, reply_after: float | None = 5.0, reply: dict[str, object] | None = None) -> None:
        self._req += 1
        rid = f"req_{self._req}"
        q: dict[str, object] = {"type": "QUERY", "entity": entity,
                                "payload": {"kind": entity, "criteria": criteria if criteria is not None else
                                            {"id": self._req}}}
        if req:
            q["requestId"] = rid
        self.add(t, "out", conn, q)
        if reply_after is None:
            return
        answer = reply or {"type": "QUERY_RESULT", "entity": entity, "data": {"data": []}}
        if req:
            answer = {**answer, "requestId": rid}
        self.add(t + reply_after, "in", conn, answer)

    def write(self, path: Path) -> Path:
        self.frames.sort(key=lambda f: f.t)
        with RecordingWriter(path, "ws://127.0.0.1/test") as w:
            w.write_many(self.frames)
        return path
