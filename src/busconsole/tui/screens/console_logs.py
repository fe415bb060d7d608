"""Console logs: every message a frontend logged, one row each, with level toggles and a text filter.

Rows come from the store's console index (compact references rebuilt on demand); the
list is rebuilt only when the index grew or a toggle changed, on the app's timer.
"""

from __future__ import annotations

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


def console_row(entry: ConsoleEntry) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    text.append(fmt_time(entry.t) if entry.t is not None else " " * 12, "dim")
    text.append(" ")
    text.append(entry.level.upper().ljust(5), LEVEL_STYLES.get(entry.level, "") + " bold")
    text.append(" ")
    session = entry.session or entry.source or ""
    text.append((session[:12] + "…" if len(session) > 13 else session).ljust(13), "#87afaf")
    text.append(" ")
    text.append(" ".join(entry.message.split()), "red" if entry.level == "error" else "")
    if entry.stack_trace:
        text.append("  [stack]", "dim")
    return text


class ConsoleList(CursorView):
    """The console entries currently shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[ConsoleEntry] = []

    def row_count(self) -> int:
        return len(self.entries)

    def row(self, row: int, width: int) -> tuple[Text, bool]:
        entry = self.entries[row]
        return console_row(entry), entry.level == "error"

    def set_entries(self, entries: list[ConsoleEntry]) -> None:
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
        *(Binding(k, f"toggle_level('{lv}')", f"Show/hide {lv} messages") for k, lv in LEVEL_KEYS.items()),
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
        self.query_one(ConsoleList).set_entries(list(console.entries(levels, self.search or None)))
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

    @on(CursorView.Moved, "#console-list")
    def _moved(self, event: CursorView.Moved) -> None:
        entries = self.query_one(ConsoleList).entries
        label = self.query_one("#console-trace-text", Static)
        if not entries:
            label.update(Text("No console messages match.", "dim"))
            return
        e = entries[min(event.row, len(entries) - 1)]
        body = Text.assemble((e.level.upper(), LEVEL_STYLES.get(e.level, "") + " bold"), " ", e.message)
        if e.args:
            body.append("\nargs: " + ", ".join(map(str, e.args)), "dim")
        meta = " · ".join(x for x in (e.session and f"session {e.session}", e.source and f"source {e.source}",
                                        f"frame #{e.frame_index}") if x)
        body.append(f"\n{meta}", "#87afaf")
        body.append("\n" + (e.stack_trace or "(no stack trace)"), "dim" if not e.stack_trace else "")
        label.update(body)
