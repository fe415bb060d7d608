"""A line-API list with a cursor: rows are drawn on demand, only those on screen.

The stream and the console log both show arbitrarily many rows; subclasses say how
many there are (``row_count``) and how one looks (``render_row``), this class does
scrolling, the cursor, keys, clicks and a per-row strip cache.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


class RowMessage(Message):
    def __init__(self, view: CursorView, row: int) -> None:
        super().__init__()
        self.view = view
        self.row = row

    @property
    def control(self) -> CursorView:
        return self.view


class CursorView(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"cursor-view--cursor", "cursor-view--error"}
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Previous row", show=False),
        Binding("down,j", "cursor(1)", "Next row", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(0)", "First row", show=False),
        Binding("end,G", "edge(1)", "Last row", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Moved(RowMessage):
        """The cursor moved; ``row`` is the new row."""

    class Chosen(RowMessage):
        """Enter or a double click on ``row``."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._cache: LRUCache[tuple[int, int, bool], Strip] = LRUCache(512)

    # ------------------------------------------------------------------ for subclasses

    def row_count(self) -> int:
        raise NotImplementedError

    def row(self, row: int, width: int) -> tuple[Text, bool]:
        """The text of ``row`` and whether it is an error row."""
        raise NotImplementedError

    # ------------------------------------------------------------------ drawing

    def invalidate(self) -> None:
        """Rows changed: forget drawn strips and resize to the new count."""
        self._cache.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, self.row_count())
        self.refresh()

    def on_resize(self) -> None:
        self.invalidate()

    def render_line(self, y: int) -> Strip:
        row = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if row >= self.row_count():
            return Strip.blank(width, self.rich_style)
        selected = row == self.cursor
        key = (row, width, selected)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(row, width, selected)
            self._cache[key] = strip
        return strip

    def _render_row(self, row: int, width: int, selected: bool) -> Strip:
        text, error = self.row(row, width)
        base: Style = self.rich_style
        if selected:
            base = base + self.get_component_rich_style("cursor-view--cursor")
        elif error:
            base = base + self.get_component_rich_style("cursor-view--error")
        segments = [Segment(s.text, base + s.style if s.style else base) for s in text.render(self.app.console)]
        return Strip(segments).crop_extend(0, width, base)

    # ------------------------------------------------------------------ cursor

    def watch_cursor(self) -> None:
        self.refresh()
        self.post_message(self.Moved(self, self.cursor))

    def move_cursor(self, row: int, center: bool = False) -> None:
        self.cursor = min(max(row, 0), max(self.row_count() - 1, 0))
        if self.cursor >= self.virtual_size.height:  # rows a subclass has not sized for yet
            self.invalidate()
        self.scroll_to_cursor(center)

    def scroll_to_cursor(self, center: bool = False) -> None:
        height = self.scrollable_content_region.height or 1
        top = round(self.scroll_y)
        if center:
            self.scroll_to(y=max(self.cursor - height // 2, 0), animate=False, immediate=True)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * max(self.scrollable_content_region.height - 1, 1))

    def action_edge(self, end: int) -> None:
        self.move_cursor(self.row_count() - 1 if end else 0)

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y
        if row < self.row_count():
            self.move_cursor(row)
            if event.chain == 2:
                self.post_message(self.Chosen(self, row))

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter" and self.row_count():
            event.stop()
            self.post_message(self.Chosen(self, self.cursor))
