"""Comparison values: sizes, durations and times, read from the text a person types.

Each reader raises ``ValueError`` with a message meant for a person; the parser adds
the column. Times are intervals so that ``t:12:30`` means the whole minute while
``t>12:30`` compares with its first instant.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

SIZE_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
LATENCY_UNITS = {"": 1, "ms": 1, "s": 1000, "m": 60_000}
AGE_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

_QUANTITY = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([a-zA-Z]*)")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?")
_AGE = re.compile(r"-(\d+(?:\.\d*)?)(ms|s|m|h|d)")


def parse_quantity(text: str, units: dict[str, int]) -> float:
    """``10kb`` -> 10240.0 with SIZE_UNITS; a bare number uses the base unit."""
    m = _QUANTITY.fullmatch(text)
    if m is None or m.group(2).lower() not in units:
        names = ", ".join(u for u in units if u)
        raise ValueError(f"expected a number with an optional unit ({names}), not {text!r}")
    return float(m.group(1)) * units[m.group(2).lower()]


def parse_number(text: str) -> float:
    if _NUMBER.fullmatch(text) is None:
        raise ValueError(f"expected a number, not {text!r}")
    return float(text)


def is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


TimeKind = Literal["day", "abs", "age"]


@dataclass(frozen=True)
class TimeValue:
    """``day``: seconds since local midnight; ``abs``: epoch ms; ``age``: ms before now.

    ``lo`` is the first instant, ``span`` the precision the person wrote (equality
    matches the whole span). ``text`` is kept for printing and ignored by equality.
    """

    kind: TimeKind
    lo: float
    span: float
    text: str = field(compare=False)

    def position(self, t_ms: float) -> float:
        """Where a frame's epoch-ms time falls on this value's scale."""
        if self.kind == "day":
            d = datetime.fromtimestamp(t_ms / 1000)
            return d.hour * 3600 + d.minute * 60 + d.second + d.microsecond / 1e6
        return t_ms

    def threshold(self) -> float:
        return time.time() * 1000 - self.lo if self.kind == "age" else self.lo


def parse_time(text: str) -> TimeValue:
    """``12:30[:00[.5]]``, ISO ``2025-09-22[T05:41[:13][Z|+02:00]]``, epoch ms, or ``-5m``."""
    if m := _AGE.fullmatch(text):
        return TimeValue("age", float(m.group(1)) * AGE_UNITS[m.group(2)], 0.0, text)
    if m := _TIME_OF_DAY.fullmatch(text):
        h, mi, s, frac = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
        if h > 23 or mi > 59 or (s is not None and int(s) > 59):
            raise ValueError(f"{text!r} is not a time of day")
        span = 60.0 if s is None else (10.0 ** -(len(frac) - 1) if frac else 1.0)
        lo = h * 3600 + mi * 60 + (int(s) if s else 0) + (float(frac) if frac else 0.0)
        return TimeValue("day", lo, span, text)
    if _NUMBER.fullmatch(text) and not text.startswith("-"):
        return TimeValue("abs", float(text), 1.0, text)
    return _parse_iso(text)


def _parse_iso(text: str) -> TimeValue:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            lo = datetime(day.year, day.month, day.day).timestamp() * 1000
            return TimeValue("abs", lo, 86_400_000.0, text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"expected a time (12:30:00, 2025-09-22T12:30, epoch ms or -5m), not {text!r}"
        ) from None
    clock = text[11:].split("+")[0].split("-")[0].rstrip("Z")
    colons = clock.count(":")
    span = (3_600_000.0, 60_000.0)[colons] if colons < 2 else (1.0 if "." in clock else 1000.0)
    return TimeValue("abs", moment.timestamp() * 1000, span, text)
