"""Console logs: every message a frontend logged, one row each, with level toggles and a text filter.

Rows come from the store's console index (compact references rebuilt on demand); the
list is rebuilt only when the index grew or a toggle changed, on the app's timer. Rows
are in the order the messages were logged (their own timestamps, else their frame's
time), not the order the batches arrived, since a frontend flushes its batches late and
several connections interleave. Each row names the connection its batch came on; Enter
goes back to the stream with that frame selected.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from busconsole.console import ConsoleEntry
from busconsole.render import LEVEL_STYLES, fmt_time
from busconsole.store.shown import ShownStore
from busconsole.tui.widgets.cursor_view import CursorView
from busconsole.wire import CONSOLE_LEVELS

LEVEL_KEYS = {"1": "error", "2": "warn", "3": "info", "4": "log", "5": "debug"}


CONN_WIDTH = 8


@dataclass(frozen=True, slots=True)
class ConsoleRow:
    """A console entry with what its frame says: the connection and when it was logged."""

    entry: ConsoleEntry
    conn: str
    t: float  # the message's own time, else its frame's

    @property
    def frame_index(self) -> int:
        return self.entry.frame_index

    @property
    def level(self) -> str:
        return self.entry.level


def console_rows(store: ShownStore, entries: list[ConsoleEntry]) -> list[ConsoleRow]:
    """``entries`` with their connection, in time order (arrival order among equal times)."""
    frames: dict[int, tuple[str, float]] = {}
    out = []
    for e in entries:
        known = frames.get(e.frame_index)
        if known is None:
            try:
                facts = store.facts(e.frame_index)
                known = frames[e.frame_index] = (facts.conn or "", facts.t)
            except LookupError:
                known = frames[e.frame_index] = ("", 0.0)
        conn, frame_t = known
        out.append(ConsoleRow(e, conn, e.t if e.t is not None else frame_t))
    out.sort(key=lambda r: r.t)  # stable: a batch's messages keep their order
    return out


def _fit(value: str, width: int) -> str:
    return (value[: width - 1] + "…" if len(value) > width else value).ljust(width)


def console_row(row: ConsoleRow) -> Text:
    entry = row.entry
    text = Text(no_wrap=True, overflow="crop")
    text.append(fmt_time(row.t), "dim" if entry.t is not None else "dim italic")
    text.append(" ")
    text.append(entry.level.upper().ljust(5), LEVEL_STYLES.get(entry.level, "") + " bold")
    text.append(" ")
    text.append(_fit(row.conn, CONN_WIDTH), "#87afaf")
    text.append(" ")
    text.append(" ".join(entry.message.split()), "red" if entry.level == "error" else "")
    if entry.stack_trace:
        text.append("  [stack]", "dim")
    return text


class ConsoleList(CursorView):
    """The console entries currently shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[ConsoleRow] = []

    def row_count(self) -> int:
        return len(self.entries)

    def row(self, row: int, width: int) -> tuple[Text, bool]:
        entry = self.entries[row]
        return console_row(entry), entry.level == "error"

    def set_entries(self, entries: list[ConsoleRow]) -> None:
        at_end = self.cursor >= len(self.entries) - 1
        self.entries = entries
        self.invalidate()
        if at_end:
            self.move_cursor(len(entries) - 1)


def level_chips(shown: set[str], counts: dict[str, int]) -> Text:
    text = Text()
    for key, level in LEVEL_KEYS.items():
        on_ = level in shown
        style = (LEVEL_STYLES.get(level, "") + " bold") if on_ else "dim strike"
        text.append(f" {key} ", "reverse" if on_ else "dim")
        text.append(f" {level} {counts.get(level, 0):,}  ", style)
    return text


class ConsoleLogsScreen(Screen[None]):
    """Full-screen console log view; ``escape`` or ``l`` goes back to the stream."""

    BINDINGS = [
        Binding("escape,l", "app.pop_screen", "Back to the stream"),
        Binding("slash", "focus_search", "Search message text"),
        Binding("enter", "go_to_frame", "Go to its frame"),
        # the level chips above the list show these keys
        *(Binding(k, f"toggle_level('{lv}')", f"Show/hide {lv} messages", show=False) for k, lv in LEVEL_KEYS.items()),
    ]

    def __init__(self, store: ShownStore) -> None:
        super().__init__()
        self.store = store
        self.levels: set[str] = set(CONSOLE_LEVELS)
        self.search = ""
        self._seen = -1

    def compose(self) -> ComposeResult:
        with Horizontal(id="console-bar"):
            yield Static("", id="console-levels")
            yield Input(placeholder="search messages, args and stack traces…", id="console-search")
        yield ConsoleList(id="console-list")
        with VerticalScroll(id="console-trace"):
            yield Static("", id="console-trace-text")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_entries(force=True)
        self.query_one(ConsoleList).focus()
        self.set_interval(0.25, self.refresh_entries)

    def refresh_entries(self, force: bool = False) -> None:
        """Rebuild the list when the console index grew (or a toggle changed)."""
        console = self.store.console
        if not force and len(console) == self._seen:
            return
        self._seen = len(console)
        levels = self.levels if self.levels != set(CONSOLE_LEVELS) else None
        found = list(console.entries(levels, self.search or None))
        self.query_one(ConsoleList).set_entries(console_rows(self.store, found))
        self.query_one("#console-levels", Static).update(level_chips(self.levels, console.count_by_level()))

    def action_toggle_level(self, level: str) -> None:
        self.levels ^= {level}
        self.refresh_entries(force=True)

    def action_focus_search(self) -> None:
        self.query_one("#console-search", Input).focus()

    @on(Input.Changed, "#console-search")
    def _search(self, event: Input.Changed) -> None:
        self.search = event.value.strip()
        self.refresh_entries(force=True)

    @on(Input.Submitted, "#console-search")
    def _search_done(self) -> None:
        self.query_one(ConsoleList).focus()

    @on(CursorView.Chosen, "#console-list")
    def _chosen(self, event: CursorView.Chosen) -> None:
        self._go_to(event.row)

    def action_go_to_frame(self) -> None:
        self._go_to(self.query_one(ConsoleList).cursor)

    def _go_to(self, row: int) -> None:
        """Back to the stream with the frame of the message at ``row`` selected."""
        entries = self.query_one(ConsoleList).entries
        if not 0 <= row < len(entries):
            return
        index = entries[row].frame_index
        stream = getattr(self.app, "stream", None)
        self.app.pop_screen()
        if stream is None:
            return
        if stream.jump_to_index(index):
            stream.focus()
        else:
            self.app.notify(f"frame #{index} is not in the stream's view (a filter hides it?)", severity="warning")

    @on(CursorView.Moved, "#console-list")
    def _moved(self, event: CursorView.Moved) -> None:
        entries = self.query_one(ConsoleList).entries
        label = self.query_one("#console-trace-text", Static)
        if not entries:
            label.update(Text("No console messages match.", "dim"))
            return
        row = entries[min(event.row, len(entries) - 1)]
        e = row.entry
        body = Text.assemble((e.level.upper(), LEVEL_STYLES.get(e.level, "") + " bold"), " ", e.message)
        if e.args:
            body.append("\nargs: " + ", ".join(map(str, e.args)), "dim")
        meta = " · ".join(x for x in (row.conn and f"connection {row.conn}", e.session and f"session {e.session}",
                                        e.source and f"source {e.source}", f"frame #{e.frame_index} (enter goes there)")
                          if x)
        body.append(f"\n{meta}", "#87afaf")
        body.append("\n" + (e.stack_trace or "(no stack trace)"), "dim" if not e.stack_trace else "")
        label.update(body)
