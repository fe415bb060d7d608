"""How a frame reads on one line: colours per type, time and size formats, short summaries.

Shared by ``tail`` and the TUI so a frame looks the same everywhere. Pure (rich
``Text`` only, no Textual) and built from the decoded JSON object, never the
pydantic model: summaries are drawn for every row on screen.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from rich.text import Text

from busconsole.frames import CapturedFrame
from busconsole.recording.redact import redacted_bytes, redacted_text
from busconsole.terminal import safe_text
from busconsole.wire import Malformed

TYPE_STYLES: dict[str, str] = {
    "QUERY": "cyan",
    "MUTATION": "magenta",
    "SUBSCRIBE": "blue",
    "UNSUBSCRIBE": "bright_black",
    "CONSOLE_LOGS": "yellow",
    "CONNECTION": "green",
    "QUERY_RESULT": "bright_cyan",
    "MUTATION_SUCCESS": "bright_magenta",
    "SUBSCRIPTION_DATA": "bright_blue",
    "STORE_UPDATE": "bright_green",
    "CONSOLE_LOGS_ACK": "bright_yellow",
    "ERROR": "bold red",
    "MALFORMED": "bold white on red",
}
UNKNOWN_STYLE = "white"
LEVEL_STYLES: dict[str, str] = {
    "error": "red",
    "warn": "yellow",
    "info": "cyan",
    "log": "default",
    "debug": "bright_black",
}
_TYPE_WIDTH = max(len(t) for t in TYPE_STYLES)


def type_style(kind: str) -> str:
    return TYPE_STYLES.get(kind, UNKNOWN_STYLE)


_last_second: list[Any] = [None, ""]  # (seconds, "HH:MM:SS"): frames come many a second


def fmt_time(t_ms: float) -> str:
    """``HH:MM:SS.mmm`` in local time."""
    secs, ms = divmod(int(t_ms), 1000)
    last = _last_second
    if last[0] != secs:
        last[1], last[0] = time.strftime("%H:%M:%S", time.localtime(secs)), secs
    return f"{last[1]}.{ms:03d}"


def day_of(t_ms: float) -> int:
    """The local calendar day of a capture time, as a number that changes at local midnight."""
    secs = int(t_ms // 1000)
    return int((secs + time.localtime(secs).tm_gmtoff) // 86400)


def fmt_day(t_ms: float) -> str:
    """``MM-DD HH:MM`` in local time: the time column's text where a new day starts."""
    return time.strftime("%m-%d %H:%M", time.localtime(int(t_ms // 1000)))


def fmt_size(n: int) -> str:
    """``512 B``, ``1.2 KB``, ``3.4 MB``: binary multiples, one decimal above bytes."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def arrow(direction: str) -> str:
    """``→`` for a frame we sent (out), ``←`` for one we received (in)."""
    return "→" if direction == "out" else "←"


def _clip(text: str, max_len: int) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= max_len else one_line[: max(max_len - 1, 0)] + "…"


def _compact(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _rows(data: Any) -> tuple[int, str | None]:
    """(row count, entity) of a store state ``{entity, query, data, meta}`` or a bare list."""
    entity = None
    for _ in range(4):  # states nest: {entity, data: {entity?, data: [...]}}
        if isinstance(data, dict) and "data" in data:
            if entity is None and isinstance(data.get("entity"), str):
                entity = data["entity"]
            data = data["data"]
        else:
            break
    if isinstance(data, list):
        return len(data), entity
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        return (sum(len(v) for v in lists) if lists else 1), entity
    return (0 if data is None else 1), entity


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _query(obj: dict[str, Any]) -> str:
    q = obj.get("payload") if obj.get("payload") is not None else obj.get("query")
    if q is None:  # a store-history row: the machine's event carries the query
        data = obj.get("data")
        event = data.get("event") if isinstance(data, dict) else None
        q = event.get("query") if isinstance(event, dict) else None
    if not isinstance(q, dict):
        return _compact(q) if q is not None else "(no query)"
    parts = [str(q.get("kind", "?"))]
    if q.get("criteria"):
        parts.append(_compact(q["criteria"]))
    page = q.get("page")
    if isinstance(page, dict) and page:
        parts.append(f"page {page.get('limit', '?')}@{page.get('offset', 0)}")
    sort = q.get("sort")
    if isinstance(sort, dict) and sort.get("field"):
        parts.append(f"sort {sort['field']} {sort.get('order', 'ASC')}")
    if q.get("include"):
        parts.append(f"+{len(q['include'])} include")
    return " ".join(parts)


def _record_id(value: Any) -> str:
    if isinstance(value, dict):
        rid = value.get("id")
        if rid is None and isinstance(value.get("data"), dict):
            rid = value["data"].get("id")
        if rid is not None:
            return f"#{rid}"
    return ""


def _mutation(obj: dict[str, Any]) -> str:
    op = str(obj.get("operation") or "?").upper()
    payload = obj.get("payload")
    head = " ".join(p for p in (op, _record_id(payload)) if p)
    if isinstance(payload, dict):
        fields = [k for k in payload if k != "id"]
        if fields:
            return f"{head} {', '.join(fields)}"
    return head


def _rows_of(obj: dict[str, Any]) -> str:
    # an <entity>/history.jsonl row keeps its rows in the store state after the result
    n, inner = _rows(obj.get("data") if "data" in obj or "stateAfter" not in obj else obj["stateAfter"])
    entity = obj.get("entity") or inner or "?"
    return f"{_plural(n, 'row')} of {entity}"


def _state_change(obj: dict[str, Any]) -> str:
    """What a history row's state change touched: the top-level keys that differ."""
    before, after = obj.get("stateBefore"), obj.get("stateAfter")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return "state changed"
    changed = [k for k in after if before.get(k) != after[k]] + [k for k in before if k not in after]
    return f"{_plural(len(changed), 'key')} changed: {', '.join(changed)}" if changed else "no change"


def _error_text(err: Any) -> str:
    if isinstance(err, dict):
        for key in ("message", "error", "reason"):
            if isinstance(err.get(key), str):
                return str(err[key])
        return _compact(err)
    return "(no error text)" if err is None else str(err)


def _console(obj: dict[str, Any]) -> str:
    msgs = [m for m in obj.get("messages") or () if isinstance(m, dict)]
    counts: dict[str, int] = {}
    for m in msgs:
        level = str(m.get("level", "log")).lower()
        counts[level] = counts.get(level, 0) + 1
    notable = ", ".join(f"{counts[lv]} {lv}" for lv in ("error", "warn") if counts.get(lv))
    text = _plural(len(msgs), "message") + (f" ({notable})" if notable else "")
    first = next((m for m in msgs if str(m.get("level", "")).lower() == "error"), msgs[0] if msgs else None)
    if first is not None:
        text += f": {first.get('message', '')}"
    return text


_MALFORMED_LOOK = 1024  # bytes of a malformed frame redacted before the first 80 are shown


def _malformed(m: Malformed, frame: CapturedFrame) -> str:
    """The reason and the frame's first bytes, secrets masked before they are cut to size."""
    if frame.binary:
        return f"{m.reason}, {fmt_size(frame.size)}: {redacted_bytes(frame.raw[:_MALFORMED_LOOK])[:24].hex(' ')}"
    text = redacted_text(frame.raw[:_MALFORMED_LOOK].decode("utf-8", "replace"))
    return f"{m.reason}: {text[:80]!r}"


def summary(frame: CapturedFrame, max_len: int = 120) -> str:
    """One human line saying what the frame carries, safe to print (control characters escaped)."""
    text = _summary(frame, max_len)
    shown = safe_text(text)
    return text if shown is text else _clip(shown, max_len)


def _summary(frame: CapturedFrame, max_len: int) -> str:
    decoded = frame.decoded
    if isinstance(decoded, Malformed):
        return _clip(_malformed(decoded, frame), max_len)
    obj = decoded
    kind = str(obj["type"]).upper()
    if kind == "QUERY":
        text = _query(obj)
    elif kind == "MUTATION":
        text = _mutation(obj)
    elif kind in ("QUERY_RESULT", "SUBSCRIPTION_DATA", "STORE_UPDATE"):
        text = _rows_of(obj)
    elif kind == "MUTATION_SUCCESS":
        op = str(obj.get("operation") or "?").upper()
        text = " ".join(p for p in (op, _record_id(obj.get("data"))) if p)
    elif kind == "CONSOLE_LOGS":
        text = _console(obj)
    elif kind == "ERROR":
        text = _error_text(obj.get("error"))
    elif kind == "CONNECTION":
        text = str(obj.get("status", "?"))
    elif kind == "CONSOLE_LOGS_ACK":
        text = f"received {obj.get('received', '?')}"
    elif kind == "STATE_CHANGED":
        text = _state_change(obj)
    elif kind in ("SUBSCRIBE", "UNSUBSCRIBE"):
        text = str(obj.get("entity") or "(no entity)")
    else:
        rest = {k: v for k, v in obj.items() if k not in ("type", "timestamp")}
        text = _compact(rest)
    return _clip(text, max_len)


def pretty_line(frame: CapturedFrame, color: bool = True, max_len: int = 120) -> Text:
    """``time arrow TYPE entity op requestId summary``; unstyled when ``color`` is False."""
    obj = frame.obj
    kind = safe_text(frame.type)
    entity = op = req = ""
    if obj is not None:
        entity = safe_text(str(obj.get("entity") or ""))
        op = safe_text(str(obj.get("operation") or "").upper())
        req = safe_text(str(obj.get("requestId") or ""))

    def style(name: str) -> str:
        return name if color else ""

    line = Text(no_wrap=True)
    line.append(fmt_time(frame.t), style("bright_black"))
    line.append(f" {arrow(frame.dir)} ", style("bold"))
    line.append(kind.ljust(_TYPE_WIDTH), style(type_style(kind)))
    for value, width, look in ((entity, 14, "bold"), (op, 6, ""), (req, 0, "bright_black")):
        if value:
            line.append(" ")
            line.append(value.ljust(width), style(look))
        elif width:
            line.append(" " + " " * width)
    line.append(" ")
    line.append(summary(frame, max_len), style("red" if kind in ("ERROR", "MALFORMED") else ""))
    return line


_SGR = {
    "bold": "1", "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36",
    "white": "37", "default": "39", "bright_black": "90", "bright_red": "91", "bright_green": "92",
    "bright_yellow": "93", "bright_blue": "94", "bright_magenta": "95", "bright_cyan": "96",
}


def _ansi(style: str) -> str:
    """The SGR escape for a rich style name of the simple kinds used here ("bold white on red")."""
    codes: list[str] = []
    words = style.split()
    for i, word in enumerate(words):
        if word == "on" or (i and words[i - 1] == "on"):
            continue
        codes.append(_SGR.get(word, ""))
    if "on" in words and words.index("on") + 1 < len(words):
        fg = _SGR.get(words[words.index("on") + 1], "")
        codes.append(str(int(fg) + 10) if fg else "")
    joined = ";".join(c for c in codes if c)
    return f"\x1b[{joined}m" if joined else ""


_ANSI_CACHE: dict[str, str] = {}
_RESET = "\x1b[0m"


def _paint(text: str, style: str) -> str:
    if not style or not text:
        return text
    code = _ANSI_CACHE.get(style)
    if code is None:
        code = _ANSI_CACHE[style] = _ansi(style)
    return f"{code}{text}{_RESET}" if code else text


def plain_line(frame: CapturedFrame, color: bool = False, max_len: int = 120) -> str:
    """:func:`pretty_line` as a ``str`` without rich: the same characters (``color=False``
    gives exactly ``pretty_line(frame, color=False).plain``), ANSI colours when ``color``.
    A few µs a frame, for the proxy's per-frame stderr log."""
    obj = frame.obj
    kind = frame.type
    entity = op = req = ""
    if obj is not None:
        entity = str(obj.get("entity") or "")
        op = str(obj.get("operation") or "").upper()
        req = str(obj.get("requestId") or "")
    text = summary(frame, max_len)
    if not color:
        return (
            f"{fmt_time(frame.t)} {arrow(frame.dir)} {kind.ljust(_TYPE_WIDTH)}"
            f" {entity.ljust(14)} {op.ljust(6)}{' ' + req if req else ''} {text}"
        )
    parts = [
        _paint(fmt_time(frame.t), "bright_black"),
        _paint(f" {arrow(frame.dir)} ", "bold"),
        _paint(kind.ljust(_TYPE_WIDTH), type_style(kind)),
        " ", _paint(entity.ljust(14), "bold") if entity else " " * 14,
        " ", op.ljust(6),
    ]
    if req:
        parts += [" ", _paint(req, "bright_black")]
    parts += [" ", _paint(text, "red" if kind in ("ERROR", "MALFORMED") else "")]
    return "".join(parts)
