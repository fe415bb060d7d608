"""The stream: one row per frame, drawn on demand from the store with the line API.

Nothing per frame lives in the widget: rows are an index (:class:`RowIndex`), and
only the rows on screen are built, from the store's facts, at most once per tick
(:class:`CursorView` caches them). ``tick()`` is called a few times a second by the
app; it never runs per frame, however fast frames arrive.
"""

from __future__ import annotations

from functools import lru_cache
from time import monotonic
from typing import NamedTuple

from rich.text import Text
from textual import events
from textual.widgets import Static

from busconsole.facts import FrameFacts
from busconsole.filtering import Filter
from busconsole.render import arrow, day_of, fmt_day, fmt_size, fmt_time, summary, type_style
from busconsole.store.shown import ShownStore
from busconsole.tui.rows import RowIndex
from busconsole.tui.widgets.cursor_view import CursorView


class Column(NamedTuple):
    title: str
    width: int  # cells when there is room
    least: int  # cells before the column is dropped instead of narrowed further
    right: bool = False  # right-aligned
    keep_end: bool = False  # cut from the left (request ids differ at their end)


# The columns in screen order; the summary takes what is left and is never dropped.
COLUMNS: tuple[Column, ...] = (
    Column("time", 12, 12),
    Column("", 1, 1),
    Column("conn", 4, 4),
    Column("type", 17, 12),
    Column("entity", 14, 8),
    Column("op", 6, 6),
    Column("requestId", 18, 8, keep_end=True),
    Column("latency", 8, 7, right=True),
    Column("size", 8, 7, right=True),
)
SUMMARY_LEAST = 20
# Which columns go first when the terminal is narrow (indices into COLUMNS); type stays.
DROP_ORDER = (6, 5, 2, 8, 4, 7, 0, 1)
# Which narrowed columns get their width back first when there is room.
GROW_ORDER = (3, 4, 2, 7, 8, 6)


@lru_cache(maxsize=64)
def column_widths(width: int) -> tuple[int, ...]:
    """Each column's cells at ``width`` (0: dropped); the summary gets the rest, at least
    SUMMARY_LEAST when the terminal allows it. Columns narrow first, then drop by DROP_ORDER."""
    widths = [c.width for c in COLUMNS]

    def used() -> int:
        return sum(w + 1 for w in widths if w)

    if used() + SUMMARY_LEAST <= width:
        return tuple(widths)
    widths = [c.least for c in COLUMNS]
    for i in DROP_ORDER:
        if used() + SUMMARY_LEAST <= width:
            break
        widths[i] = 0
    room = width - SUMMARY_LEAST - used()
    for i in GROW_ORDER:
        if room <= 0:
            break
        if widths[i]:
            extra = min(COLUMNS[i].width - widths[i], room)
            widths[i] += extra
            room -= extra
    return tuple(widths)


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


def header_text(width: int = 200) -> Text:
    """The column titles over rows drawn ``width`` cells wide."""
    text = Text(no_wrap=True, overflow="crop", style="bold")
    for column, cells in zip(COLUMNS, column_widths(width), strict=True):
        if cells:
            text.append(_fit(column.title, cells, column.right) + " ")
    text.append("summary")
    return text


def row_text(facts: FrameFacts, width: int, new_day: bool = False) -> Text:
    """One stream row; shared by the view and anything that prints rows the same way. The
    first row of a new day shows the date in place of the seconds (``09-21 12:36``)."""
    text = Text(no_wrap=True, overflow="crop")
    kind = facts.type
    cells = (
        (fmt_day(facts.t), "bold #ffd75f") if new_day else (fmt_time(facts.t), "dim"),
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
    for (value, style), column, cell in zip(cells, COLUMNS, column_widths(width), strict=True):
        if not cell:
            continue
        text.append(_fit(value, cell, column.right, column.keep_end), style)
        text.append(" ")
        used += cell + 1
    room = max(width - used, 8)
    bad = facts.malformed or kind == "ERROR"
    text.append(summary(facts.frame, room), "red" if bad else "")
    return text


class StreamHeader(Static):
    """The column titles, laid out for the width the stream's rows are drawn at."""

    def __init__(self, stream: StreamView, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.stream = stream

    def render(self) -> Text:
        width = self.stream.scrollable_content_region.width or self.size.width
        return header_text(width)


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
        self._place_at: int | None = None  # store index to select once a stepped filter reaches it
        self.header: StreamHeader | None = None  # redrawn with the rows' width

    def on_mount(self) -> None:
        self.invalidate()
        self.move_cursor(len(self.rows) - 1)
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def row_count(self) -> int:
        return len(self.rows)

    def row(self, row: int, width: int) -> tuple[Text, bool]:
        facts = self.store.facts(self.rows.index(row))
        return row_text(facts, width, self._new_day(row, facts.t)), facts.error

    def _new_day(self, row: int, t: float) -> bool:
        """Whether ``row`` starts a day: its date differs from the row above's (the first row
        shows its date when the rows span days), so four days never read as one."""
        if row == 0:
            rows = self.rows
            return len(rows) > 1 and day_of(self.store.facts(rows.index(len(rows) - 1)).t) != day_of(t)
        try:
            above = self.store.facts(self.rows.index(row - 1)).t
        except LookupError:
            return False
        return day_of(above) != day_of(t)

    @property
    def selected_index(self) -> int | None:
        return self.rows.index(self.cursor) if len(self.rows) else None

    @property
    def following(self) -> bool:
        """Following the newest frame: follow on, at the bottom, not paused."""
        return self.follow and self.pinned and not self.paused

    def go_newest(self) -> None:
        """Select the newest row and keep the view at the bottom (following when ``follow``)."""
        self.unseen = 0
        self.move_cursor(len(self.rows) - 1)
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.pinned = True

    def nearest_row(self, index: int) -> int | None:
        """The row showing store index ``index``, else the row of the nearest frame shown."""
        after = self.rows.row_of(index, after=True)
        before = self.rows.row_before(index)
        if after is None or before is None:
            return before if after is None else after
        if self.rows.index(after) - index <= index - self.rows.index(before):
            return after
        return before

    def set_filter(self, flt: Filter | None) -> None:
        """Show only frames matching ``flt``: following stays following; otherwise the selected
        frame (or the nearest one shown) stays selected, in the middle of the view."""
        keep = self.selected_index
        following = self.following or keep is None
        self.rows = RowIndex(self.store, flt, self.filter_budget)
        self.unseen = 0
        self._place_at = None
        self.invalidate()
        if following:
            self.go_newest()
            return
        assert keep is not None
        row = self.nearest_row(keep)
        self.move_cursor(row if row is not None else len(self.rows) - 1, center=True)
        if self.rows.behind and (row is None or self.rows.index(row) != keep):
            self._place_at = keep  # a filter filling in slice by slice has not reached it yet

    def _place_pending(self) -> None:
        """Put the cursor on the kept frame once a stepped filter has scanned past it."""
        keep = self._place_at
        if keep is None or (self.rows.behind and len(self.store) - self.rows.behind <= keep):
            return
        self._place_at = None
        row = self.nearest_row(keep)
        if row is not None:
            self.move_cursor(row, center=True)

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
        if self._place_at is not None:  # a stepped filter is still looking for the selected frame
            self.invalidate()
            self._place_pending()
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
        """Panes opened or closed, the terminal resized: the selected row stays on screen."""
        super().on_resize()
        if self.scroll_y >= self.max_scroll_y:
            self.pinned = True  # every row fits, or the view is at the bottom: new rows are seen
        if self.pinned and (self.follow or self.cursor >= len(self.rows) - 1):
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to_cursor()
        if self.header is not None:
            self.header.refresh()

    def on_key(self, event: events.Key) -> None:
        # (Textual calls CursorView.on_key as well: handlers run for each class of the MRO)
        if event.key in ("up", "k", "down", "j", "pageup", "pagedown", "home", "g", "end", "G"):
            self._place_at = None  # the person moved: a filter filling in no longer places the cursor

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
