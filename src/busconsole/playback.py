"""The playback clock of a replayed session: which frames have "happened" at this moment.

Pure and clock-injected (``now`` is a monotonic seconds value passed in), so the
TUI drives it from a timer and the tests drive it by hand. The clock maps the
recording's own capture times (epoch ms) onto wall time at a chosen speed; the
position is the number of frames revealed so far.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, math.inf)


class JumpError(ValueError):
    """A jump target a person typed that cannot be read."""


class PlaybackClock:
    """Position over frames whose capture times ``times`` are non-decreasing (epoch ms)."""

    def __init__(self, times: Sequence[float], speed: float = 1.0) -> None:
        self.times = times
        self.position = 0  # frames [0, position) have been revealed
        self.playing = False
        self.speed = speed
        self._anchor_wall = 0.0  # monotonic seconds when play started or speed changed
        self._anchor_t = 0.0  # session time (ms) at that moment

    # ------------------------------------------------------------------ state

    @property
    def total(self) -> int:
        return len(self.times)

    @property
    def at_end(self) -> bool:
        return self.position >= self.total

    @property
    def session_time(self) -> float | None:
        """The capture time of the last revealed frame, or of the first when none is."""
        if not self.total:
            return None
        return self.times[max(self.position - 1, 0)]

    @property
    def speed_label(self) -> str:
        return "max" if math.isinf(self.speed) else f"{self.speed:g}x"

    # ------------------------------------------------------------------ controls

    def play(self, now: float) -> None:
        if self.at_end:
            return
        self.playing = True
        self._anchor(now)

    def pause(self) -> None:
        self.playing = False

    def toggle(self, now: float) -> None:
        if self.playing:
            self.pause()
        else:
            self.play(now)

    def faster(self, now: float) -> None:
        self._set_speed(SPEEDS[min(self._speed_slot() + 1, len(SPEEDS) - 1)], now)

    def slower(self, now: float) -> None:
        self._set_speed(SPEEDS[max(self._speed_slot() - 1, 0)], now)

    def step(self, frames: int) -> None:
        """Move by whole frames (``.`` and ``,``); stepping pauses, as in a video player."""
        self.pause()
        self.position = min(max(self.position + frames, 0), self.total)

    def seek(self, position: int, now: float | None = None) -> None:
        self.position = min(max(position, 0), self.total)
        if self.playing and now is not None:
            self._anchor(now)

    def seek_time(self, t_ms: float, now: float | None = None) -> None:
        """Reveal every frame captured at or before ``t_ms``."""
        self.seek(bisect_right(self.times, t_ms), now)

    def tick(self, now: float) -> int:
        """Advance while playing; returns the new position."""
        if not self.playing:
            return self.position
        if math.isinf(self.speed):
            self.position = self.total
        else:
            target = self._anchor_t + (now - self._anchor_wall) * 1000.0 * self.speed
            self.position = max(self.position, bisect_right(self.times, target))
        if self.at_end:
            self.playing = False
        return self.position

    # ------------------------------------------------------------------ internals

    def _speed_slot(self) -> int:
        if math.isinf(self.speed):
            return len(SPEEDS) - 1
        return min(range(len(SPEEDS) - 1), key=lambda k: abs(SPEEDS[k] - self.speed))

    def _set_speed(self, speed: float, now: float) -> None:
        self.speed = speed
        if self.playing:
            self._anchor(now)

    def _anchor(self, now: float) -> None:
        self._anchor_wall = now
        if not self.total:
            self._anchor_t = 0.0
        elif self.position == 0:
            self._anchor_t = self.times[0]
        else:
            self._anchor_t = self.times[min(self.position, self.total) - 1]


_REL = re.compile(r"^([+-])\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_jump(text: str, current_ms: float, first_ms: float) -> float:
    """Read a jump target: ``12:31:05`` (local time of day, on the session's date),
    ``+30s`` / ``-2m`` (relative to now in the session), or an ISO date-time."""
    s = text.strip()
    if not s:
        raise JumpError("type a time like 12:31:05, +30s or -2m")
    m = _REL.match(s)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        return current_ms + sign * float(m.group(2)) * _UNITS[m.group(3)] * 1000.0
    if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d{1,3})?)?", s):
        base = datetime.fromtimestamp(first_ms / 1000.0)
        parts = s.split(":")
        seconds = float(parts[2]) if len(parts) > 2 else 0.0
        if int(parts[0]) > 23 or int(parts[1]) > 59 or seconds >= 60:
            raise JumpError(f"{s!r} is not a time of day")
        day = base.replace(hour=int(parts[0]), minute=int(parts[1]), second=0, microsecond=0)
        target = day + timedelta(seconds=seconds)
        if target.timestamp() * 1000.0 < first_ms - 12 * 3600 * 1000:
            target += timedelta(days=1)
        return target.timestamp() * 1000.0
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000.0
    except ValueError:
        raise JumpError(f"cannot read {s!r}: use 12:31:05, +30s, -2m or an ISO date-time") from None
