"""The stream: one row per frame, drawn on demand from the store with the line API.

Nothing per frame lives in the widget: rows are an index (:class:`RowIndex`), and
only the rows on screen are built, from the store's facts, at most once per tick
(:class:`CursorView` caches them). ``tick()`` is called a few times a second by the
app; it never runs per frame, however fast frames arrive.
"""

from __future__ import annotations

from time import monotonic

from rich.text import Text

from busconsole.facts import FrameFacts
from busconsole.filtering import Filter
from busconsole.render import arrow, fmt_size, fmt_time, summary, type_style
from busconsole.store.shown import ShownStore
from busconsole.tui.rows import RowIndex
from busconsole.tui.widgets.cursor_view import CursorView

# (title, width, right-aligned); the summary takes what is left.
COLUMNS: tuple[tuple[str, int, bool], ...] = (
    ("time", 12, False),
    ("", 1, False),
    ("conn", 4, False),
    ("type", 17, False),
    ("entity", 14, False),
    ("op", 6, False),
    ("requestId", 18, False),
    ("latency", 8, True),
    ("size", 8, True),
)


def _fit(value: str, width: int, right: bool = False, keep_end: bool = False) -> str:
    if len(value) > width:
        value = "…" + value[-(width - 1):] if keep_end else value[: width - 1] + "…"
    return value.rjust(width) if right else value.ljust(width)


def latency_text(facts: FrameFacts) -> tuple[str, str]:
    """The latency cell and its style: milliseconds, pending or timed out."""
    if facts.latency is not None:
        ms = facts.latency
        text = f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"
        return text, "yellow" if ms >= 500 else "green"
    if facts.timed_out:
        return "timeout", "bold red"
    if facts.pending:
        return "pending", "yellow"
    return "", ""


def header_text() -> Text:
    text = Text(no_wrap=True, style="bold")
    for title, width, right in COLUMNS:
        text.append(_fit(title, width, right) + " ")
    text.append("summary")
    return text


def row_text(facts: FrameFacts, width: int) -> Text:
    """One stream row; shared by the view and anything that prints rows the same way."""
    text = Text(no_wrap=True, overflow="crop")
    kind = facts.type
    cells = (
        (fmt_time(facts.t), "dim"),
        (arrow(facts.dir), "bold cyan" if facts.dir == "out" else "bold"),
        (facts.conn, "dim cyan"),
        (kind, type_style(kind)),
        (facts.entity or "", "bold"),
        (facts.op or "", ""),
        (facts.req or "", "dim"),
        latency_text(facts),
        (fmt_size(facts.size), "dim"),
    )
    used = 0
    for (value, style), (_, cell, right) in zip(cells, COLUMNS, strict=True):
        text.append(_fit(value, cell, right, keep_end=cell == 18), style)
        text.append(" ")
        used += cell + 1
    room = max(width - used, 8)
    bad = facts.malformed or kind == "ERROR"
    text.append(summary(facts.frame, room), "red" if bad else "")
    return text


GROWTH_EVERY = 1.0  # seconds between scroll-range updates for rows growing out of view


class StreamView(CursorView):
    """Every frame of the session (or of a filter), newest at the bottom."""

    def __init__(self, store: ShownStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.rows = RowIndex(store)
        self.filter_budget: float | None = None  # seconds a filter may take per tick (None: all at once)
        self.follow = True
        self.paused = False
        self.unseen = 0  # rows that arrived while scrolled up or paused
        self.pinned = True  # at the bottom until the person scrolls up (a layout change does not count)
        self._paused_at = 0
        self._grown = False  # rows were added that the scroll range does not show yet
        self._resized_at = 0.0  # monotonic time of the last resize to the row count

    def on_mount(self) -> None:
        self.invalidate()
        self.move_cursor(len(self.rows) - 1)
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def row_count(self) -> int:
        return len(self.rows)

    def row(self, row: int, width: int) -> tuple[Text, bool]:
        facts = self.store.facts(self.rows.index(row))
        return row_text(facts, width), facts.error

    @property
    def selected_index(self) -> int | None:
        return self.rows.index(self.cursor) if len(self.rows) else None

    def set_filter(self, flt: Filter | None) -> None:
        """Show only frames matching ``flt``, keeping the selected frame in view when it matches."""
        keep = self.selected_index
        self.rows = RowIndex(self.store, flt, self.filter_budget)
        self.unseen = 0
        self.invalidate()
        row = self.rows.row_of(keep, after=True) if keep is not None else None
        self.move_cursor(row if row is not None else len(self.rows) - 1, center=True)

    def set_paused(self, paused: bool) -> None:
        """Freeze the rows on screen; capture goes on and ``unseen`` counts what is held back."""
        self.paused = paused
        self._paused_at = len(self.store)
        if not paused:
            self.unseen = 0
            self.tick()

    def tick(self) -> None:
        """Take in new frames (called on a timer); auto-scrolls only when already at the bottom."""
        if self.paused:
            self.unseen = len(self.store) - self._paused_at
            return
        at_bottom = self.pinned
        cursor_at_end = self.cursor >= len(self.rows) - 1
        added, dropped = self.rows.sync()
        if not added and not dropped and not self._grown:
            return
        now = monotonic()
        if not dropped and not (self.follow and at_bottom) and now - self._resized_at < GROWTH_EVERY:
            # Rows only grew below a view that does not follow them (a file loading): the scroll
            # range catches up on a later tick, sparing a screen layout on every tick.
            self._grown = True
            self.unseen += added
            return
        self._grown = False
        self._resized_at = now
        if dropped:
            self.cursor = max(self.cursor - dropped, 0)
            if not at_bottom:
                self.scroll_to(y=max(self.scroll_y - dropped, 0), animate=False, immediate=True)
        self.invalidate()
        if self.follow and at_bottom:
            if cursor_at_end:
                self.cursor = max(len(self.rows) - 1, 0)
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            self.unseen = 0
        else:
            self.unseen += added

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new >= self.max_scroll_y:
            self.pinned = True
            self.unseen = 0
        elif new < old:
            self.pinned = False

    def on_resize(self) -> None:
        super().on_resize()
        if self.pinned:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def move_cursor(self, row: int, center: bool = False) -> None:
        super().move_cursor(row, center)
        self.pinned = self.cursor >= len(self.rows) - 1 and self.scroll_y >= self.max_scroll_y

    def jump_to_index(self, index: int) -> bool:
        """Select the frame at store index ``index`` when the view shows it."""
        row = self.rows.row_of(index)
        if row is None:
            return False
        self.move_cursor(row, center=True)
        return True
