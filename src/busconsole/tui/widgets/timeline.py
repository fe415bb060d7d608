"""The replay timeline: where in the recording the view is, and where the errors happened.

Two lines: a bar over the session's time span (played part, position marker, a red
tick in every cell where an error frame was captured) and a line of labels (mode,
play state and speed, clock, frame counter, loading progress). ``timeline_text`` is
pure so the tests check it without a terminal; the widget only caches the error cells,
which change only when more of the file is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from busconsole.render import fmt_time

PLAYED, UNPLAYED, MARK, ERROR_TICK = "━", "─", "●", "┃"


@dataclass(frozen=True, slots=True)
class TimelineModel:
    """Everything one frame of the timeline shows."""

    mode: str  # "browse" or "playback"
    playing: bool
    speed: str
    position: int  # frames revealed (playback) or the selected frame + 1 (browse)
    total: int
    first_ms: float | None
    last_ms: float | None
    at_ms: float | None  # the time the marker stands at
    progress: float = 1.0  # opening the file, 0..1
    phase: str = ""  # "indexing" / "loading" / "file" / "following"


def error_cells(times: Sequence[float], first: float, last: float, width: int) -> frozenset[int]:
    """The bar cells (0..width-1) holding at least one of ``times``."""
    span = last - first
    if width <= 0:
        return frozenset()
    if span <= 0:
        return frozenset({0}) if times else frozenset()
    return frozenset(min(width - 1, max(0, int((t - first) / span * width))) for t in times)


def _cell_of(at: float | None, first: float, last: float, width: int) -> int:
    if at is None or last <= first:
        return 0
    return min(width - 1, max(0, int((at - first) / (last - first) * width)))


def _span(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def timeline_text(model: TimelineModel, errors: frozenset[int], width: int) -> Text:
    """The two lines of the timeline for a terminal ``width`` cells wide."""
    bar_width = max(width - 2, 1)
    text = Text(no_wrap=True, overflow="crop")
    text.append(" ")
    if model.first_ms is None or model.last_ms is None:
        text.append(UNPLAYED * bar_width, "dim")
    else:
        mark = _cell_of(model.at_ms, model.first_ms, model.last_ms, bar_width)
        for cell in range(bar_width):
            if cell == mark and model.total:
                text.append(MARK, "bold #ffd75f")
            elif cell in errors:
                text.append(ERROR_TICK, "bold #ff5f5f")
            elif cell < mark:
                text.append(PLAYED, "#5fafd7" if model.mode == "playback" else "#87af87")
            else:
                text.append(UNPLAYED, "#4e4e4e")
    text.append("\n")
    text.append_text(_labels(model))
    return text


def _labels(model: TimelineModel) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if model.mode == "playback":
        state = "▶ PLAYING" if model.playing else "⏸ PAUSED"
        text.append(f" {state} ", "bold black on #5fafd7" if model.playing else "bold black on #d7af5f")
        text.append(f" {model.speed} ", "bold")
    else:
        text.append(" ◆ BROWSE ", "bold black on #87af87")
        text.append(" ")
    if model.at_ms is not None:
        text.append(fmt_time(model.at_ms), "bold")
    if model.first_ms is not None and model.at_ms is not None:
        text.append(f"  +{_span(model.at_ms - model.first_ms)}", "dim")
    text.append("  │ ", "dim")
    text.append(f"frame {model.position:,} / {model.total:,}")
    if model.first_ms is not None and model.last_ms is not None:
        text.append("  │ ", "dim")
        text.append(f"{fmt_time(model.first_ms)} → {fmt_time(model.last_ms)} ({_span(model.last_ms - model.first_ms)})",
                    "dim")
    if model.progress < 1.0:
        text.append("  │ ", "dim")
        text.append(f"{model.phase} {model.progress:.0%}", "bold #ffd75f")
    elif model.phase == "following":
        text.append("  │ ", "dim")
        text.append("following the file", "bold #87d787")
    return text


class Timeline(Widget):
    """Shows a :class:`TimelineModel`; a click on the bar asks to move there."""

    DEFAULT_CSS = """
    Timeline {
        height: 2;
        background: $surface;
    }
    """

    class Seek(Message):
        """The bar was clicked at ``fraction`` (0..1) of the session's time span."""

        def __init__(self, fraction: float) -> None:
            super().__init__()
            self.fraction = fraction

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model: TimelineModel | None = None
        self._error_times: Sequence[float] = ()
        self._cells: tuple[tuple[int, int, float, float], frozenset[int]] | None = None

    def show(self, model: TimelineModel, error_times: Sequence[float]) -> None:
        """Draw ``model``; ``error_times`` are the capture times of the whole file's error frames."""
        if model != self.model or len(error_times) != len(self._error_times):
            self.model = model
            self._error_times = error_times
            self.refresh()

    def _errors(self, width: int) -> frozenset[int]:
        model = self.model
        if model is None or model.first_ms is None or model.last_ms is None:
            return frozenset()
        key = (len(self._error_times), width, model.first_ms, model.last_ms)
        if self._cells is None or self._cells[0] != key:
            self._cells = key, error_cells(self._error_times, model.first_ms, model.last_ms, width)
        return self._cells[1]

    def render(self) -> Text:
        if self.model is None:
            return Text("")
        width = self.size.width
        return timeline_text(self.model, self._errors(max(width - 2, 1)), width)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0 and self.size.width > 2:
            self.post_message(self.Seek(min(max((event.x - 1) / (self.size.width - 2), 0.0), 1.0)))
