"""The busconsole app: one screen over a :class:`Session` (live, proxy or file).

The session appends frames to its store from its own task; this app never waits on
it. A timer a few times a second reads how far the store got and refreshes the
stream, the badges and the status bar: a burst of 20,000 frames costs the UI four
repaints, not 20,000. Actions are data: every binding has a description, and the
help screen and the command palette are generated from the bindings.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any, ClassVar

import orjson
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from busconsole.filtering import Filter
from busconsole.sessions.base import Reconnectable, Recordable, Session
from busconsole.tui.main_screen import MainScreen, binding_commands
from busconsole.tui.screens.console_logs import ConsoleLogsScreen
from busconsole.tui.screens.entity_picker import ALL, EntityPicker
from busconsole.tui.screens.help import HelpScreen
from busconsole.tui.screens.subscriptions import SubscriptionsScreen
from busconsole.tui.theme import BUSCONSOLE_THEME
from busconsole.tui.toggles import TYPE_TOGGLES, combined_filter, toggles_text, with_entity
from busconsole.tui.widgets.cursor_view import CursorView
from busconsole.tui.widgets.detail import DetailPane
from busconsole.tui.widgets.filter_bar import FilterBar
from busconsole.tui.widgets.status import StatusBar
from busconsole.tui.widgets.stream import StreamHeader, StreamView

TICK_SECONDS = 0.25
class BusConsoleApp(App[None]):
    """``BusConsoleApp(session).run()``; other front ends (replay, proxy) pass their own session."""

    CSS_PATH = "busconsole.tcss"
    TITLE = "busconsole"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("enter", "detail", "Detail", key_display="⏎"),
        # The footer shows the keys that apply now (in_footer) and Esc does one thing at a time
        # (check_action); the help screen shows every key.
        Binding("escape", "close_detail", "Close detail", key_display="esc", tooltip="Close the detail pane"),
        Binding("escape", "clear_filter", "Clear filter", key_display="esc",
                tooltip="Clear the filter, once no pane is open (types hidden with 1–5 stay hidden)"),
        Binding("right_square_bracket", "detail_tab(1)", "Next tab", key_display="]"),
        Binding("left_square_bracket", "detail_tab(-1)", "Previous detail tab", show=False, key_display="["),
        Binding("f", "follow", "Follow", tooltip="Go to the newest frame and follow new ones"),
        Binding("space", "pause", "Pause", key_display="␣"),
        Binding("n", "next_error", "Next error",
                tooltip="Next error: ERROR, malformed frame, failed request or console error"),
        Binding("N", "previous_error", "Previous error", show=False),
        Binding("y", "copy", "Copy JSON"),
        Binding("c", "compose", "Compose"),
        Binding("e", "edit_resend", "Edit & resend", show=False),
        Binding("r", "record", "Record on/off", show=False),
        Binding("R", "reconnect", "Reconnect now", show=False, tooltip="Skip the wait before the next attempt"),
        Binding("s", "subscriptions", "Subscriptions"),
        Binding("l", "console_logs", "Console logs"),
        Binding("D", "doctor", "Bus doctor", show=False),
        Binding("p", "pick_entity", "Entity", show=False, tooltip="Show one entity only (or all again)"),
        *(Binding(k, f"toggle_types('{k}')", f"Show/hide {label}", show=False)
          for k, (label, _) in TYPE_TOGGLES.items()),
    ]

    def __init__(self, session: Session, *, filter_text: str = "") -> None:
        super().__init__()
        self.session = session
        self.store = session.store
        self.initial_filter = filter_text
        self.hidden_types: set[str] = set()
        self._stopped = False
        self._right_width = -1  # cells of the info bar's right-hand text last shown
        self._footer_context: tuple[object, ...] = ()  # what the footer's bindings depend on, last tick
        self.register_theme(BUSCONSOLE_THEME)  # before the first stylesheet: set later, it is rebuilt
        self.theme = BUSCONSOLE_THEME.name

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # Kept as attributes: the timer updates them while another screen is on top.
        self.filter_bar = FilterBar(id="filter-bar")
        self.info_left = Static("", id="info-left")
        self.info_right = Static("", id="info-right")
        self.stream = StreamView(self.store, id="stream")
        self.detail = DetailPane(self.store, id="detail")
        self.status_bar = StatusBar(id="status")
        yield self.filter_bar
        with Horizontal(id="info-bar"):
            yield self.info_left
            yield self.info_right
        self.stream.header = StreamHeader(self.stream, id="stream-header")
        yield self.stream.header
        yield self.stream
        yield self.detail
        yield self.status_bar
        yield Footer(compact=True, show_command_palette=False)  # ^p is in the help screen

    async def on_mount(self) -> None:
        self.title = f"busconsole — {self.session.title}"
        self.detail.display = False
        self.stream.focus()
        if self.initial_filter:
            self.filter_bar.set_text(self.initial_filter)
        self.set_interval(TICK_SECONDS, self.tick)
        await self.session.start()
        self.tick()

    async def on_unmount(self) -> None:
        await self._stop_session()

    async def _stop_session(self) -> None:
        if not self._stopped:
            self._stopped = True
            await self.session.stop()

    # ------------------------------------------------------------------ the tick

    def tick(self) -> None:
        """Everything that follows the store, batched: one pass per timer tick."""
        stream = self.stream
        stream.tick()
        # Repaints, not layouts: these lines have fixed sizes, except the right-hand part whose
        # width follows its text. A layout per tick was half the replay's loading time.
        right = self._info_right()
        self.info_right.update(right, layout=right.cell_len != self._right_width)
        self._right_width = right.cell_len
        # the left part gets what the right part leaves (its padding and the right's take 3 cells)
        self.info_left.update(self._info_left(self.size.width - right.cell_len - 3), layout=False)
        status = self.session.status
        self.status_bar.update_from(
            self.session.title, status, len(self.store), self._pending_count()
        )
        self._refresh_footer()

    def _refresh_footer(self) -> None:
        """Show the footer's keys that apply now: re-checked when the context changes."""
        context = (self.detail.display, bool(self.filter_bar.applied.strip()), self.stream.following,
                   bool(self.store.error_positions()), self.size.width)
        if context != self._footer_context and self.screen_stack:  # none while the app closes
            self._footer_context = context
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc closes the detail pane first, then clears the filter; otherwise it does nothing."""
        if action == "close_detail":
            return self.detail.display
        if action == "clear_filter":
            return not self.detail.display and bool(self.filter_bar.applied.strip())
        return True

    def in_footer(self, action: str) -> bool:
        """Whether the footer shows a key now: some keys matter only in context (they work anyway)."""
        if action.startswith(("detail_tab", "copy")):
            return self.detail.display
        if action == "detail":
            return not self.detail.display  # esc closes it
        if action == "follow":
            return not self.stream.following
        if action == "next_error":
            return bool(self.store.error_positions())
        return True

    def get_key_display(self, binding: Binding) -> str:
        return "␣" if binding.key == "space" and not binding.key_display else super().get_key_display(binding)

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(id="_default")

    def _pending_count(self) -> int:
        # pairing.pending() builds one object per waiting request; the count is all the bar needs.
        return self.store.pairing.pending_count()

    def _info_left(self, width: int = 1_000) -> Text:
        """Counts, then the 1–5 toggles as wide as ``width`` allows: full labels, short ones, only
        the hidden ones, none; a toggle is shown whole or not at all."""
        rows, total = len(self.stream.rows), len(self.store) - self.store.first_index
        text = Text.assemble(("frames", "bold"), f" {total:,}")
        if self.stream.rows.filter is not None:
            text.append(f"  showing {rows:,}", "bold #d7af5f")
            behind = self.stream.rows.behind
            if behind:
                text.append(f"  filtering… {1 - behind / max(total, 1):.0%}", "bold #d7af5f")
        if self.session.read_only:
            text.append("  READ-ONLY", "bold yellow")
        hidden = self._hidden_labels()
        for toggles in (toggles_text(hidden, short=False), toggles_text(hidden, short=True),
                        toggles_text(hidden, short=True, only_hidden=True)):
            if text.cell_len + toggles.cell_len <= width:
                text.append_text(toggles)
                break
        return text


    def _hidden_labels(self) -> set[str]:
        return {label for label, types in TYPE_TOGGLES.values() if set(types) <= self.hidden_types}

    def _info_right(self) -> Text:
        stream = self.stream
        text = Text(justify="right")
        errors = len(self.store.error_positions())
        console_errors = self.store.console.count_by_level().get("error", 0)
        if errors:
            text.append(f" ✖ {errors:,} {'error' if errors == 1 else 'errors'} ", "bold white on #af0000")
            text.append(" ")
        if console_errors:
            text.append(f" console ✖ {console_errors:,} ", "bold #ff5f5f on #3a1c1c")
            text.append(" ")
        if stream.paused:
            text.append(f" ⏸ PAUSED · {stream.unseen:,} new ", "bold black on #d7af5f")
        elif stream.unseen:
            text.append(f" ↓ {stream.unseen:,} new ", "bold black on #5fafd7")
        elif stream.follow:
            text.append(" ● following ", "bold #87d787")
        else:
            text.append(" follow off (f) ", "dim")
        return text

    # ------------------------------------------------------------------ stream and detail

    @on(CursorView.Moved, "#stream")
    def _selected(self) -> None:
        if self.detail.display:
            self.detail.show(self.stream.selected_index)

    @on(CursorView.Chosen, "#stream")
    def _chosen(self) -> None:
        self.action_detail()

    def action_detail(self) -> None:
        """Open the detail pane on the selected frame, or close it."""
        if self.detail.display:
            self.action_close_detail()
            return
        self.detail.display = True
        # Reading a frame: new frames must not move the selection away (f follows again).
        self.stream.follow = False
        self.detail.show(self.stream.selected_index)
        self.stream.scroll_to_cursor()
        self._refresh_footer()

    def action_detail_tab(self, step: int) -> None:
        """Switch the detail pane to the next (or previous) tab, opening it if needed."""
        if not self.detail.display:
            self.action_detail()
        self.detail.cycle_tab(step)

    def action_close_detail(self) -> None:
        """Close the detail pane."""
        self.detail.display = False
        self.stream.focus()
        self._refresh_footer()

    def action_clear_filter(self) -> None:
        """Clear the filter (the types hidden with 1–5 stay hidden)."""
        self.filter_bar.set_text("")
        self.notify("Filter cleared.", timeout=3)

    def action_follow(self) -> None:
        """Go to the newest frame and follow the frames that arrive (scrolling up stops following)."""
        stream = self.stream
        stream.follow = True
        if stream.paused:
            stream.set_paused(False)
        stream.go_newest()
        self.notify("Following the newest frame.", timeout=3)
        self.tick()

    def action_pause(self) -> None:
        """Freeze the view; frames are still captured and recorded."""
        self.stream.set_paused(not self.stream.paused)
        self.tick()

    def _jump_error(self, forward: bool) -> None:
        """Select the next (or previous) error the view shows, wrapping around the ends."""
        stream = self.stream
        positions = self.store.error_positions()
        here = stream.selected_index
        if here is None:
            here = -1 if forward else len(self.store)
        n = len(positions)
        start = bisect_right(positions, here) if forward else bisect_left(positions, here) - 1
        step = 1 if forward else -1
        for k in range(n):
            index = positions[(start + step * k) % n]
            if index != here and stream.jump_to_index(index):
                if (index < here) == forward:
                    self.notify("Search wrapped around.", severity="information")
                return
        self.notify("No errors in this view." if n else "No errors so far.", severity="information")

    def action_next_error(self) -> None:
        """Select the next ERROR, malformed frame, failed request or console error."""
        self._jump_error(True)

    def action_previous_error(self) -> None:
        self._jump_error(False)

    def action_copy(self) -> None:
        """Copy the selected frame's JSON to the clipboard (OSC 52)."""
        index = self.stream.selected_index
        if index is None:
            return
        frame = self.store.frame(index)
        obj = frame.obj
        text = orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() if obj is not None else frame.text()
        self.copy_to_clipboard(text)
        self.notify(f"Copied frame #{index} ({len(text):,} characters).")

    # ------------------------------------------------------------------ filtering

    def action_filter(self) -> None:
        """Focus the filter bar (the filter language; ? shows its help)."""
        self.filter_bar.open()

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self._apply_filter(event.text)

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        self.stream.focus()

    def _apply_filter(self, text: str) -> None:
        from busconsole.filtering import parse_filter

        full = combined_filter(text, self.hidden_types)
        flt: Filter | None = parse_filter(full) if full.strip() else None
        self.stream.set_filter(flt)
        self.tick()

    def action_toggle_types(self, key: str) -> None:
        """Hide or show one family of frame types."""
        types = set(TYPE_TOGGLES[key][1])
        if types <= self.hidden_types:
            self.hidden_types -= types
        else:
            self.hidden_types |= types
        self._apply_filter(self.filter_bar.applied)

    def action_pick_entity(self) -> None:
        """Narrow the stream to one entity seen on the bus."""

        def chosen(entity: str | None) -> None:
            if entity is not None:
                self.filter_bar.set_text(with_entity(self.filter_bar.applied, None if entity == ALL else entity))

        self.push_screen(EntityPicker(self.store.values("entity")), chosen)

    # ------------------------------------------------------------------ other screens

    def help_sections(self) -> list[tuple[str, list[Binding]]]:
        def bindings(items: Iterable[BindingType]) -> list[Binding]:
            return [b for b in items if isinstance(b, Binding)]

        return [
            ("Stream", bindings(self.BINDINGS) + [Binding("ctrl+p", "command_palette", "Command palette")]),
            ("Moving", bindings(CursorView.BINDINGS)),
            ("Filter bar", bindings(FilterBar.BINDINGS)),
            ("Console logs (l)", bindings(ConsoleLogsScreen.BINDINGS)),
            ("Subscriptions (s)", bindings(SubscriptionsScreen.BINDINGS)),
        ]

    def action_help(self) -> None:
        """Show every key and the filter language."""
        self.push_screen(HelpScreen(self.help_sections()))

    def action_console_logs(self) -> None:
        """Every console message, with level toggles and stack traces."""
        self.push_screen(ConsoleLogsScreen(self.store))

    def action_doctor(self) -> None:
        """Findings about the traffic (the bus doctor); enter shows a finding's frames."""
        from busconsole.tui.screens.doctor import DoctorScreen

        def chosen(text: str | None) -> None:
            if text is not None:
                self.filter_bar.set_text(text)

        self.push_screen(DoctorScreen(self.session), chosen)

    def action_subscriptions(self) -> None:
        """Subscribe and unsubscribe entities; update counts per entity."""
        self.push_screen(SubscriptionsScreen(self.session))

    def _composer(self, initial: dict[str, Any] | None) -> None:
        if not self.session.can_send:
            self.notify("This session cannot send frames.", severity="warning")
            return
        try:
            from busconsole.tui.screens.composer import ComposerScreen
        except ImportError as exc:
            self.notify(f"The composer is not available: {exc}", severity="error")
            return
        self.push_screen(ComposerScreen(self.session, initial=initial))

    def action_compose(self) -> None:
        """Compose a QUERY, MUTATION or any frame and send it."""
        self._composer(None)

    def action_edit_resend(self) -> None:
        """Open the selected frame in the composer to edit and send again."""
        index = self.stream.selected_index
        obj = self.store.frame(index).obj if index is not None else None
        if obj is None:
            self.notify("Select a well-formed frame to edit.", severity="warning")
            return
        self._composer(dict(obj))

    def action_record(self) -> None:
        """Start or stop recording this session to a file."""
        session = self.session
        if not isinstance(session, Recordable):
            self.notify("This session cannot be recorded.", severity="warning")
            return
        session.set_recording(not session.recording)
        path = self.session.status.recording_path
        self.notify(f"Recording to {path}" if session.recording else "Recording stopped.")
        self.tick()

    def action_reconnect(self) -> None:
        """Try to connect at once instead of waiting out the backoff."""
        session = self.session
        if not isinstance(session, Reconnectable) or session.status.phase == "connected":
            self.notify("Nothing to reconnect: the session is not waiting to reconnect.")
            return
        session.reconnect_now()
        self.notify("Reconnecting now.")

    async def action_quit(self) -> None:
        """Stop the session (closing the recording) and leave."""
        await self._stop_session()
        self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from binding_commands(self)
        yield from super().get_system_commands(screen)

