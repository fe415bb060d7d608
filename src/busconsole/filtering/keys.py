"""What each filter key means: one table that drives parsing, the help screen and ``--help``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from busconsole.wire import REPLY_TYPES, REQUEST_TYPES

# The start of a ``key:value`` or ``path.to.field>3`` term: a name, then its operator.
KEY_TERM = re.compile(r"(\.?[A-Za-z_][\w\-]*(?:\.(?:[\w\-]+|\*))*)(>=|<=|:|=|>|<)")

KeyKind = Literal["field", "level", "quantity", "time", "is"]


@dataclass(frozen=True)
class KeyDef:
    name: str
    kind: KeyKind
    description: str
    example: str
    indexed: bool  # answered from the store's indexes without looking at frames


FILTER_KEYS: tuple[KeyDef, ...] = (
    KeyDef("type", "field", "frame type, any case; aliases: update, result, success, logs, ack",
           "type:query,MUTATION", True),
    KeyDef("entity", "field", "entity name, exact case", "entity:comp*", True),
    KeyDef("op", "field", "mutation operation, any case", "op:create,update", True),
    KeyDef("dir", "field", "direction: in (from the server) or out (to it); also <- and ->",
           "dir:out", True),
    KeyDef("req", "field", "requestId, exact case", "req:req_1758*", True),
    KeyDef("conn", "field", "connection id (proxy mode: one per frontend)", "conn:c2", True),
    KeyDef("level", "level", "frames carrying a console message at this level", "level:error,warn",
           True),
    KeyDef("latency", "quantity", "request/reply latency; units ms (default), s, m",
           "latency>500ms", False),
    KeyDef("size", "quantity", "frame size in bytes; units b, kb, mb, gb (1024)", "size>10kb", False),
    KeyDef("t", "time",
           "capture time: local time of day on the frame's own date, ISO date-time, epoch ms, "
           "or -5m (within the last 5 minutes; units ms s m h d)", "t>12:30:00", False),
    KeyDef("is", "is", "state: pending, error, orphan, malformed, timedout, failed, guessed (paired by "
           "order, not by id), request, reply; what the doctor flags: noreqid (QUERY/MUTATION without "
           "requestId), large (over 256 KiB), leak (a SUBSCRIBE never undone), dupsub (an entity "
           "subscribed again), retry (a retry storm), repeat (an identical query within 1 s)",
           "is:pending,timedout", False),
)
KEYS: dict[str, KeyDef] = {k.name: k for k in FILTER_KEYS}

# What a key-less term or an operator means, for the help text.
SYNTAX: tuple[tuple[str, str], ...] = (
    ("word", "the frame text contains word (raw bytes, any case)"),
    ('"a phrase"', 'the frame text contains the phrase; \\" and \\\\ escape'),
    ("/regex/i", "the frame text matches the regular expression (flags i m s x)"),
    ("a b   a and b", "both"),
    ("a or b", "either (binds looser than and)"),
    ("-a   not a", "not a"),
    ("( … )", "grouping"),
    ("key:a,b", "any of the values"),
    ("key:comp*", "* matches any run of characters; a quoted value is literal"),
    ("key:/regex/", "the value matches the regular expression"),
    ("payload.status:ACTIVE", "a path into the frame object, any case; lists match if any item "
     "does; * matches any key; a number selects a list item"),
    (".status:connected", "a path from the top of the frame object"),
    ("key>n key>=n key<n key<=n key=n", "comparisons for latency, size, t and number paths"),
)

TYPE_ALIASES = {
    "UPDATE": "STORE_UPDATE",
    "RESULT": "QUERY_RESULT",
    "SUCCESS": "MUTATION_SUCCESS",
    "LOGS": "CONSOLE_LOGS",
    "ACK": "CONSOLE_LOGS_ACK",
}
DIR_ALIASES = {"in": "in", "out": "out", "<-": "in", "->": "out"}
LEVEL_ALIASES = {"warning": "warn"}

# is:<flag> -> frame types that answer it exactly from the type index, when there are some.
IS_TYPES: dict[str, tuple[str, ...] | None] = {
    "pending": None,
    "error": None,
    "orphan": None,
    "malformed": ("MALFORMED",),
    "timedout": None,
    "failed": None,
    "guessed": None,
    "request": (*REQUEST_TYPES, "REQUEST"),  # REQUEST: a line of the store's request log (recording/detect.py)
    "reply": REPLY_TYPES,
    "noreqid": ("QUERY", "MUTATION"),  # candidates only: those with a requestId are then ruled out
    "large": None,
    "leak": None,
    "dupsub": None,
    "retry": None,
    "repeat": None,
}
# is:<flag> whose IS_TYPES are candidates, not the answer.
IS_NARROWED = frozenset({"noreqid"})
LARGE_BYTES = 256 * 1024  # is:large: a frame over this many bytes (the doctor's default threshold)


def help_text() -> str:
    """Plain-text reference of the language, generated from the tables above."""
    width = max(len(k.name) for k in FILTER_KEYS) + 1
    lines = ["Filter keys (* = answered from the store's indexes):"]
    for k in FILTER_KEYS:
        star = "*" if k.indexed else " "
        lines.append(f"  {k.name:<{width}}{star} {k.description}.  e.g. {k.example}")
    lines.append("")
    lines.append("Syntax:")
    swidth = max(len(form) for form, _ in SYNTAX) + 2
    lines.extend(f"  {form:<{swidth}}{meaning}" for form, meaning in SYNTAX)
    return "\n".join(lines)
