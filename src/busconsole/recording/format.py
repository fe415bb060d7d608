"""The recording format, version 1 (DESIGN §3), owned whole by this module: the header,
the version check with its migration hook, and the one encoder and decoder of frame lines.

A frame line is ``{"seq", "t", "dir", "conn", "frame"}`` when the frame's bytes are one
JSON object on one line: those bytes are written verbatim, and read back as the same
slice of the line, never re-encoded. Any other frame keeps its exact bytes in ``"raw"``:
text as a JSON string, or base64 (``"enc": "base64"``) for binary frames and for text that
is not UTF-8 (which also carries ``"text": true``). Whether a frame is an object is decided
by :func:`busconsole.wire.decode` alone, so a frame means the same live and replayed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson

from busconsole.frames import IN, OUT, CapturedFrame, Direction
from busconsole.wire import TOO_DEEP, Malformed, decode, loads

FORMAT_VERSION = 1

_RECORD_HEAD = re.compile(
    rb'\{"seq":(-?\d+),"t":([-+0-9.eE]+),"dir":"(in|out)","conn":"((?:[^"\\]|\\.)*)","frame":'
)


class FormatError(ValueError):
    """A header this busconsole cannot read (newer version, wrong shape), or a bad frame record."""


# ---------------------------------------------------------------------- header and version


def header_line(source: str, rules: list[str], part: int = 0) -> bytes:
    """The first line of a recording (``part`` > 0 for the continuation files of a rotation)."""
    head: dict[str, Any] = {
        "busconsole": "recording",
        "version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "source": source,
        "redact": rules,
    }
    if part:
        head["part"] = part
    return orjson.dumps(head) + b"\n"


def is_header(obj: dict[str, Any]) -> bool:
    return obj.get("busconsole") == "recording"


# One-step migrations of a frame record from version N to N+1, chained up to FORMAT_VERSION.
# Version 1 is the first, so there are none yet: a version 2 adds ``MIGRATIONS[1]`` here.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def check_header(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """The header itself when this busconsole can read the file; FormatError otherwise."""
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise FormatError(f"{where}: recording header has no readable version ({version!r})")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{where}: made by a newer busconsole (recording format version {version}, this one "
            f"reads up to {FORMAT_VERSION}); please update busconsole"
        )
    if version < 1:
        raise FormatError(f"{where}: recording format version {version} does not exist")
    return obj


def migrate(rec: dict[str, Any], version: int) -> dict[str, Any]:
    """A frame record of ``version`` brought to the current version, one step at a time."""
    while version < FORMAT_VERSION:
        rec = MIGRATIONS[version](rec)
        version += 1
    return rec


# ---------------------------------------------------------------------- encoding


class _TypeOnly(msgspec.Struct):
    type: str


_TYPE_CHECK = msgspec.json.Decoder(_TypeOnly)


class _Line(msgspec.Struct):
    """A frame line whose frame is already JSON: encoded in C with the bytes verbatim."""

    seq: int
    t: float
    dir: str
    conn: str
    frame: msgspec.Raw


_LINE = msgspec.json.Encoder()


def is_frame_object(raw: bytes) -> bool:
    """True when :func:`busconsole.wire.decode` reads ``raw`` as a frame object. A type-only
    msgspec decode answers most frames about four times cheaper than decoding them; what it
    refuses (lone surrogate escapes, numbers out of range, bad UTF-8) the decode settles."""
    try:
        _TYPE_CHECK.decode(raw)
        if not raw.isascii():
            raw.decode()
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return isinstance(decode(raw), dict)
    return True


def _verbatim(frame: CapturedFrame) -> _Line | None:
    """The frame line with the frame's bytes as they are, when they are exactly one JSON object
    on one line (else None: the bytes go to ``raw``)."""
    raw = frame.raw
    if (
        frame.binary
        or 10 in raw  # b"\n" and b"\r" as ints: a byte search, not a substring one (7x cheaper)
        or 13 in raw
        or raw[:1] != b"{"
        or raw[-1:] != b"}"
    ):
        return None
    known = frame._obj
    if known is None:
        if not is_frame_object(raw):
            return None
    elif isinstance(known, Malformed):
        return None
    return _Line(frame.seq, frame.t, frame.dir, frame.conn, msgspec.Raw(raw))


def record_of(frame: CapturedFrame, obj: dict[str, Any] | None = None) -> dict[str, Any]:
    """The frame record as an object; ``obj`` replaces the frame (redaction), else the exact
    bytes are kept in ``raw``."""
    rec: dict[str, Any] = {"seq": frame.seq, "t": frame.t, "dir": frame.dir, "conn": frame.conn}
    if obj is not None:
        rec["frame"] = obj
        return rec
    raw = frame.raw
    if not frame.binary:
        try:
            rec["raw"] = raw.decode("utf-8")
            return rec
        except UnicodeDecodeError:
            rec["text"] = True
    rec["raw"] = base64.b64encode(raw).decode("ascii")
    rec["enc"] = "base64"
    return rec


def encode(frame: CapturedFrame, obj: dict[str, Any] | None = None) -> bytes:
    """One frame line, newline included. ``obj`` replaces the frame's object (redaction)."""
    if obj is None:
        line = _verbatim(frame)
        if line is not None:
            return _LINE.encode(line) + b"\n"
    try:
        return orjson.dumps(record_of(frame, obj)) + b"\n"
    except TypeError:  # an object orjson cannot write (a redacted number out of its range)
        return orjson.dumps(record_of(frame)) + b"\n"


def encode_many(frames: Iterable[CapturedFrame]) -> bytes:
    """``b"".join(encode(f) for f in frames)``, with runs of verbatim lines encoded by one C
    call: about 40 % cheaper per frame, which recording and ``tail --json`` feel."""
    out: list[bytes] = []
    run: list[_Line] = []
    for f in frames:
        line = _verbatim(f)
        if line is not None:
            run.append(line)
            continue
        if run:
            out.append(_LINE.encode_lines(run))
            run = []
        out.append(encode(f))
    if run:
        out.append(_LINE.encode_lines(run))
    return b"".join(out)


# ---------------------------------------------------------------------- decoding


def is_record(obj: dict[str, Any]) -> bool:
    return "seq" in obj and "t" in obj and "dir" in obj and ("frame" in obj or "raw" in obj)


def from_record(rec: dict[str, Any]) -> CapturedFrame:
    """The frame of a parsed frame record (any key order). Raises FormatError when it is not
    one. A ``frame`` object here is re-encoded: lines busconsole writes take :func:`read_line`."""
    try:
        binary = False
        if "frame" in rec:
            raw = orjson.dumps(rec["frame"])
        elif rec.get("enc") == "base64":
            raw = base64.b64decode(rec["raw"], validate=True)
            binary = not rec.get("text")
        else:
            raw = str(rec["raw"]).encode("utf-8", "surrogatepass")
        direction: Direction = OUT if rec.get("dir") == "out" else IN
        return CapturedFrame(int(rec["seq"]), float(rec["t"]), direction, str(rec.get("conn", "c1")), raw, binary)
    except (KeyError, ValueError, TypeError, orjson.JSONEncodeError) as exc:
        raise FormatError(f"unreadable frame record: {exc}") from exc


def read_line(line: bytes) -> CapturedFrame | None:
    """The frame of a line in the shape busconsole writes, its bytes the exact slice of the
    line (decoded by the one decode, malformed or not); None for any other line."""
    head = _RECORD_HEAD.match(line)
    if head is None or line[-1:] != b"}":
        return None
    seq, t, direction, conn = head.groups()
    try:
        name = loads(b'"%s"' % conn) if b"\\" in conn else conn.decode()
        frame = CapturedFrame(int(seq), float(t), OUT if direction == b"out" else IN, str(name),
                              line[head.end() : -1])
    except ValueError:
        return None
    obj = decode(frame.raw)
    if isinstance(obj, Malformed) and obj.reason != TOO_DEEP:
        return None  # not a line of ours (more after the frame, no object): the general reader decides
    frame._obj = obj
    return frame
