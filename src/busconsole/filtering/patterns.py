"""Value patterns: literal text, ``*`` wildcards and ``/regex/flags``, compiled once.

A pattern also knows which lower-cased byte strings must occur in a frame's raw
bytes for it to match, which is what the byte-level prefilter checks before any
JSON is parsed.

Regexes are run by the ``regex`` package with a time limit per match
(:data:`MATCH_TIMEOUT`): a pattern that backtracks catastrophically on a frame is
stopped, the frame counts as not matching, and :data:`TIMEOUTS` counts it and says so
once per pattern on stderr, instead of freezing ``tail``, ``replay`` or the TUI.
"""

from __future__ import annotations

import re
import sys
import threading
from typing import Any, Literal

Kind = Literal["literal", "wildcard", "regex"]

# re's flag values, which the regex package shares: it is imported only when a pattern is compiled
REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
MATCH_TIMEOUT = 0.25  # seconds one regex may spend on one frame


class RegexTimeouts:
    """How many matches were stopped by the time limit, per pattern; the first of each pattern
    is reported on stderr (``report``, replaceable, e.g. by a screen showing a notice)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.report = self._to_stderr

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def hit(self, pattern: str) -> None:
        with self._lock:
            n = self.counts[pattern] = self.counts.get(pattern, 0) + 1
        if n == 1:
            self.report(pattern)

    @staticmethod
    def _to_stderr(pattern: str) -> None:
        print(f"busconsole: warning: the filter regex /{pattern}/ took over {MATCH_TIMEOUT:g} s on a frame "
              "and was stopped; such frames count as not matching", file=sys.stderr, flush=True)


TIMEOUTS = RegexTimeouts()


def compile_regex(text: str, flags: int = 0) -> Any:
    """``text`` compiled by the ``regex`` package; a bad pattern raises ``re.error`` (with its
    position), which the parser turns into a FilterError with the column."""
    import regex  # a few tens of ms: only filters with a pattern pay for it

    re.compile(text, flags)  # the errors (message, position) the parser reports, as before
    try:
        return regex.compile(text, flags)
    except regex.error as exc:
        raise re.error(str(getattr(exc, "msg", exc)), text, getattr(exc, "pos", None)) from None


def timed_search(rx: Any, value: str, full: bool = False) -> bool:
    """Whether ``rx`` matches ``value`` (searched, or ``full``-matched) within MATCH_TIMEOUT;
    a match stopped by the limit counts in :data:`TIMEOUTS` and as no match."""
    try:
        found = (rx.fullmatch if full else rx.search)(value, timeout=MATCH_TIMEOUT)
    except TimeoutError:
        TIMEOUTS.hit(rx.pattern)
        return False
    return found is not None

# Characters a JSON encoder writes verbatim inside a string (no mainstream encoder
# \u-escapes letters or digits; some escape "/", "<", ">", "&", "'" or non-ASCII).
_VERBATIM = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:,;!?#$%^*()+=@[]{}|~`"
)
_PLAIN_VALUE = re.compile(r'[^\s(),*"/][^\s(),*]*')


def verbatim_needle(text: str) -> bytes | None:
    """``text`` lower-cased as bytes when it must appear as-is in JSON text, else None."""
    if text and all(c in _VERBATIM for c in text):
        return text.lower().encode("ascii")
    return None


def longest_verbatim_needle(text: str) -> bytes | None:
    """The longest run of ``text`` that must appear as-is in JSON text, lower-cased, or None."""
    runs = "".join(c if c in _VERBATIM else "\0" for c in text).split("\0")
    return verbatim_needle(max(runs, key=len))


def quote(text: str) -> str:
    """A double-quoted form that the scanner reads back to ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def regex_flags(flags: str) -> int:
    value = 0
    for f in flags:
        value |= REGEX_FLAGS[f]
    return value


class Pattern:
    """One value to compare a frame field with. ``fold`` makes the comparison case-insensitive."""

    __slots__ = ("kind", "text", "flags", "fold", "_low", "_rx")

    def __init__(self, kind: Kind, text: str, flags: str = "", fold: bool = False) -> None:
        self.kind = kind
        self.text = text
        self.flags = flags
        self.fold = fold
        self._low = text.lower()
        self._rx: Any = None
        if kind == "regex":  # re.error is turned into a FilterError with its column by the parser
            self._rx = compile_regex(text, regex_flags(flags) | (re.IGNORECASE if fold else 0))
        elif kind == "wildcard":
            body = ".*".join(re.escape(part) for part in text.split("*"))
            self._rx = compile_regex(body, re.DOTALL | (re.IGNORECASE if fold else 0))

    @property
    def literal(self) -> bool:
        return self.kind == "literal"

    def matches(self, value: str) -> bool:
        if self._rx is None:
            return value.lower() == self._low if self.fold else value == self.text
        return timed_search(self._rx, value, full=self.kind != "regex")

    def needles(self) -> tuple[bytes, ...]:
        """Byte strings that all occur (case-insensitively) in any frame this value matches."""
        if self.kind == "regex":
            return ()
        parts = self.text.split("*") if self.kind == "wildcard" else [self.text]
        found = (verbatim_needle(p) for p in parts)
        return tuple(n for n in found if n)

    def __str__(self) -> str:
        if self.kind == "regex":
            return f"/{self.text}/{self.flags}"
        if self.kind == "wildcard" or _PLAIN_VALUE.fullmatch(self.text):
            return self.text
        return quote(self.text)

    def _key(self) -> tuple[str, str, str, bool]:
        return (self.kind, self.text, self.flags, self.fold)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Pattern({self.kind}, {self.text!r}, {self.flags!r}, fold={self.fold})"
