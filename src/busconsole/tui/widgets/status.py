"""The status bar: where the frames come from, how the connection is, how fast, what is recorded.

It draws a :class:`SessionStatus` snapshot; the app calls :meth:`StatusBar.update_from`
on its timer, so a burst of frames costs one repaint, not one per frame.
"""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual.widgets import Static

from busconsole.render import fmt_size
from busconsole.sessions.base import SessionStatus

BARS = "▁▂▃▄▅▆▇█"
PHASE_STYLES = {
    "connected": "bold green",
    "connecting": "yellow",
    "reconnecting": "bold yellow",
    "failed": "bold red",
    "closed": "dim",
}


class RateMeter:
    """Frames per second over the last ``width`` whole seconds, from a running total."""

    def __init__(self, width: int = 16) -> None:
        self.rates: deque[int] = deque([0] * width, maxlen=width)
        self._second: int | None = None
        self._total_at_second = 0

    def sample(self, total: int, now: float | None = None) -> None:
        second = int(time.monotonic() if now is None else now)
        if self._second is None:
            self._second, self._total_at_second = second, total
            return
        if second > self._second:
            # A total can shrink when the view switches stores (replay rewinds): never negative.
            per_second = max(total - self._total_at_second, 0) / (second - self._second)
            for _ in range(min(second - self._second, self.rates.maxlen or 1)):
                self.rates.append(int(per_second))
            self._second, self._total_at_second = second, total

    @property
    def current(self) -> int:
        return self.rates[-1]

    def sparkline(self) -> str:
        top = max(self.rates) or 1
        return "".join(BARS[min(len(BARS) - 1, r * len(BARS) // (top + 1))] if r else " " for r in self.rates)


def recording_text(status: SessionStatus) -> Text:
    """REC and where to, red and saying how many frames were lost when writing fails, or not recording."""
    text = Text()
    if status.recording_path is not None and status.unrecorded:
        text.append(f" REC ✖ {status.unrecorded:,} frames not written ", "bold white on red")
        text.append(f" {status.record_error}", "red")
    elif status.recording_path is not None:
        text.append("● REC ", "bold red")
        text.append(f"{status.recording_path.name} {fmt_size(status.recording_bytes)}")
    else:
        text.append("not recording", "dim")
    return text


def status_text(title: str, status: SessionStatus, rate: RateMeter, pending: int) -> Text:
    """The one-line bar, recording first (a narrow terminal cuts the end); pure so tests and
    snapshots can check it without a terminal."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append_text(recording_text(status))
    text.append("  │ ", "dim")
    text.append("● ", PHASE_STYLES.get(status.phase, "cyan"))
    text.append(status.phase_text, PHASE_STYLES.get(status.phase, "cyan"))
    text.append("  ")
    text.append(title, "bold")
    text.append("  │ ", "dim")
    text.append(f"in {status.frames_in:,}  out {status.frames_out:,}")
    if status.skipped:
        text.append(f"  skipped {status.skipped:,}", "yellow")
    text.append("  │ ", "dim")
    text.append(rate.sparkline(), "cyan")
    text.append(f" {rate.current:,}/s")
    text.append("  │ ", "dim")
    text.append(f"pending {pending}", "yellow" if pending else "")
    return text


class StatusBar(Static):
    """One line at the bottom of the app."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.meter = RateMeter()

    def update_from(self, title: str, status: SessionStatus, total: int, pending: int) -> None:
        self.meter.sample(total)
        self.update(status_text(title, status, self.meter, pending), layout=False)  # one line, always
