"""``busconsole replay FILE...`` on a terminal: the live app over a :class:`FileSession`.

The same views as a live session (stream, filter, detail, console logs), plus a
playback clock and a timeline. Browse mode shows the whole file; playback mode shows
the session as it was at the clock's moment. Keys that mean something else live
(space, n/N) or in the stream (g/G) are taken over only where the replay needs them:
g/G move the clock only in playback mode with the stream focused, and fall through
to the stream otherwise.
"""

from __future__ import annotations

import sys
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.actions import SkipAction
from textual.binding import Binding, BindingType

from busconsole.sessions.file import BROWSE, PLAYBACK, WINDOW_MB, FileSession
from busconsole.store.shown import ShownStore
from busconsole.tui.app import BusConsoleApp
from busconsole.tui.screens.replay_jump import JumpScreen
from busconsole.tui.widgets.status import RateMeter
from busconsole.tui.widgets.timeline import Timeline, TimelineModel

PLAYBACK_TICK = 0.1  # redraws while the clock runs or a filter fills in; else the app's slower tick
FILTER_BUDGET = 0.06  # seconds of filtering per fast tick
EXIT_OK, EXIT_UNREADABLE = 0, 2

REPLAY_BINDINGS: list[Binding] = [
    Binding("space", "play_pause", "Play/pause"),
    Binding("b", "toggle_mode", "Browse/playback"),
    Binding("plus,equals_sign", "speed(1)", "Faster", key_display="+"),
    Binding("minus", "speed(-1)", "Slower", key_display="-"),
    Binding("full_stop", "step(1)", "Step forward one frame", show=False, key_display="."),
    Binding("comma", "step(-1)", "Step back one frame", show=False, key_display="comma"),
    Binding("g", "clock_edge(0)", "Playback: go to the start", show=False, priority=True),
    Binding("G", "clock_edge(1)", "Playback: go to the end", show=False, priority=True),
    Binding("colon", "jump", "Jump to time", key_display=":"),
]
_TAKEN = {b.key for b in REPLAY_BINDINGS}


class ReplayApp(BusConsoleApp):
    """``ReplayApp(FileSession(paths)).run()``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(b for b in BusConsoleApp.BINDINGS if not (isinstance(b, Binding) and b.key in _TAKEN)),
        *REPLAY_BINDINGS,
    ]

    def __init__(self, session: FileSession, *, filter_text: str = "") -> None:
        super().__init__(session, filter_text=filter_text)
        self.file = session
        session.hold()  # until the first screen is drawn (on_mount)
        self.timeline = Timeline(id="timeline")
        self._generation = session.generation
        self._select_when_shown: int | None = None
        self._placed = False  # the first screen shows the top of the file
        self._error_times: tuple[int, list[float]] = (0, [])

    # ------------------------------------------------------------------ set-up

    async def on_mount(self) -> None:
        # Runs before BusConsoleApp.on_mount (Textual calls both), which starts the session.
        await self.mount(self.timeline, before=self.status_bar)
        self.stream.follow = self.file.follow
        self.stream.filter_budget = FILTER_BUDGET  # a whole-file filter fills in; the screen stays live
        self.set_interval(PLAYBACK_TICK, self._fast_tick)
        self.call_after_refresh(self.file.hold, False)  # the first screen is drawn: load the rest

    def _fast_tick(self) -> None:
        file = self.file
        if file.clock.playing or self._select_when_shown is not None or self.stream.rows.behind:
            self.tick()

    # ------------------------------------------------------------------ the tick

    def tick(self) -> None:
        if self.file.generation != self._generation:
            self._generation = self.file.generation
            self._show_store(self.file.store)
        super().tick()
        stream = self.stream
        if not stream.follow:
            stream.unseen = 0  # a file does not "arrive": nothing is new below the view
        if not self._placed and len(self.store):
            self._placed = True
            if not stream.follow:
                stream.move_cursor(0)
        self._select_pending()
        self.timeline.show(self._timeline_model(), self._errors_in_time())

    def _show_store(self, store: ShownStore) -> None:
        """Point every view at ``store`` (browse and playback swap, or the clock went back)."""
        self.store = store
        self.status_bar.meter = RateMeter()  # its rates assume a store that only grows
        self.stream.store = store
        self.stream.set_filter(self.stream.rows.filter)
        self.detail.store = store
        if self.detail.display:
            self.detail.show(self.stream.selected_index)
        if self.file.mode == PLAYBACK and self._select_when_shown is None:
            self._follow_clock()

    def _select_pending(self) -> None:
        index = self._select_when_shown
        file = self.file
        if index is None or file.mode != PLAYBACK or index >= len(self.store):
            return
        self._select_when_shown = None
        if not self.stream.jump_to_index(index):
            row = self.stream.rows.row_before(index + 1)
            self.stream.move_cursor(row if row is not None else 0, center=True)
        if self.detail.display:
            self.detail.show(self.stream.selected_index)

    def _follow_clock(self) -> None:
        stream = self.stream
        stream.follow = True
        stream.action_edge(1)
        stream.scroll_end(animate=False, immediate=True, x_axis=False)

    def _timeline_model(self) -> TimelineModel:
        file = self.file
        times = file.times
        clock = file.clock
        if file.mode == PLAYBACK:
            position, at = clock.position, clock.session_time
        else:
            selected = self.stream.selected_index
            position = selected + 1 if selected is not None else 0
            at = times[selected] if selected is not None and selected < len(times) else None
        return TimelineModel(
            mode=file.mode,
            playing=clock.playing,
            speed=clock.speed_label,
            position=position,
            total=len(times),
            first_ms=times[0] if times else None,
            last_ms=times[-1] if times else None,
            at_ms=at,
            progress=file.progress,
            phase=file.status.phase,
        )

    def _errors_in_time(self) -> Sequence[float]:
        """Capture times of the whole file's errors, recomputed only when more were found."""
        errors = self.file.browse.error_positions()
        if self._error_times[0] != len(errors):
            times = self.file.times
            self._error_times = (len(errors), [times[i] for i in errors if i < len(times)])
        return self._error_times[1]

    # ------------------------------------------------------------------ the clock

    def _seek(self, position: int, select: int | None = None) -> None:
        """Move the clock so ``position`` frames have happened; select ``select`` (default: the last)."""
        file = self.file
        file.seek(position, time.monotonic())
        file.clock.pause()
        last = file.clock.position - 1
        self._select_when_shown = min(select, last) if select is not None else last if last >= 0 else None
        file.pump()
        self.tick()

    def action_play_pause(self) -> None:
        """Play the session from the clock's position, or pause it (enters playback mode)."""
        self.file.play_pause(time.monotonic())
        self._select_when_shown = None
        self.file.pump()
        self.tick()
        self._follow_clock()

    def action_toggle_mode(self) -> None:
        """Switch between browsing the whole file and the playback clock's moment."""
        file = self.file
        file.set_mode(BROWSE if file.mode == PLAYBACK else PLAYBACK)
        if file.mode == BROWSE:
            self.stream.follow = file.follow
        self.file.pump()
        self.tick()

    def action_speed(self, step: int) -> None:
        """Play faster or slower: 0.25x to 100x, then as fast as possible."""
        clock = self.file.clock
        (clock.faster if step > 0 else clock.slower)(time.monotonic())
        self.tick()

    def action_step(self, frames: int) -> None:
        """Reveal the next frame (or take back the last one); pauses the clock."""
        self._seek(self.file.clock.position + frames)

    def action_clock_edge(self, end: int) -> None:
        """In playback, go to the start or the end of the session; elsewhere g/G move the stream."""
        if self.file.mode != PLAYBACK or self.focused is not self.stream:
            raise SkipAction()
        self._seek(self.file.clock.total if end else 0)

    def action_jump(self) -> None:
        """Jump to a time: 12:31:05 (time of day), +30s / -2m (from here), or an ISO date-time."""
        file = self.file
        if not file.times:
            self.notify("Nothing loaded yet.", severity="warning")
            return
        current = file.session_ms
        self.push_screen(JumpScreen(current if current is not None else file.times[0], file.times[0]),
                         self._jump_to)

    def _jump_to(self, target_ms: float | None) -> None:
        if target_ms is None:
            return
        times = self.file.times
        if self.file.mode == PLAYBACK:
            self._seek(bisect_right(times, target_ms))
            return
        row = self.stream.rows.row_of(bisect_left(times, target_ms), after=True)
        self.stream.move_cursor(row if row is not None else len(self.stream.rows) - 1, center=True)
        self.tick()

    @on(Timeline.Seek)
    def _timeline_clicked(self, event: Timeline.Seek) -> None:
        times = self.file.times
        if times:
            self._jump_to(times[0] + event.fraction * (times[-1] - times[0]))

    # ------------------------------------------------------------------ errors anywhere in the file

    def _error_after(self, forward: bool) -> int | None:
        errors = self.file.browse.error_positions()
        here = self.stream.selected_index
        if here is None:
            here = self.file.clock.position - 1
        if forward:
            k = bisect_right(errors, here)
            return errors[k] if k < len(errors) else None
        k = bisect_left(errors, here) - 1
        return errors[k] if k >= 0 else None

    def action_next_error(self) -> None:
        """Select the next error anywhere in the file (in playback the clock moves there)."""
        if self.file.mode != PLAYBACK:
            super().action_next_error()
        else:
            self._seek_error(self._error_after(True), "No more errors in this file.")

    def action_previous_error(self) -> None:
        """Select the previous error anywhere in the file (in playback the clock moves back)."""
        if self.file.mode != PLAYBACK:
            super().action_previous_error()
        else:
            self._seek_error(self._error_after(False), "No earlier errors in this file.")

    def _seek_error(self, index: int | None, none_left: str) -> None:
        """Play up to the frame that shows ``index`` failed (a request: its ERROR reply) and
        select it; with no such error, say ``none_left``."""
        if index is None:
            self.notify(none_left, severity="information")
            return
        pair = self.file.browse.pairing.pair_of(index)
        shown_by = pair.reply if pair is not None and pair.failed and pair.request == index else index
        self._seek(shown_by + 1, select=index)

    # ------------------------------------------------------------------ sending and other screens

    def _composer(self, initial: dict[str, Any] | None) -> None:
        live = self.file.live
        if live is None:
            self.notify("A replay sends only to a live server given with --to URL.", severity="warning")
            return
        from busconsole.tui.screens.composer import ComposerScreen

        self.push_screen(ComposerScreen(live, initial=initial))

    def action_subscriptions(self) -> None:
        """Subscriptions belong to live sessions; a replay shows what was recorded."""
        self.notify("A replayed file has no subscriptions.", severity="information")

    def help_sections(self) -> list[tuple[str, list[Binding]]]:
        sections = super().help_sections()
        title, bindings = sections[0]
        mine = set(map(id, REPLAY_BINDINGS))
        return [("Replay", REPLAY_BINDINGS), (title, [b for b in bindings if id(b) not in mine]), *sections[1:]]


def run_replay(
    paths: Sequence[str | Path],
    follow: bool = False,
    filter: str | None = None,  # noqa: A002 - the CLI's own name for it
    to: str | None = None,
    read_only: bool = False,
    headers: dict[str, str] | None = None,
    window_mb: float = WINDOW_MB,
) -> int:
    """Open ``paths`` as one session in the replay app; returns the exit code (2: unreadable)."""
    from busconsole.recording.reader import RecordingError

    try:
        session = FileSession(paths, follow=follow, to=to, read_only=read_only, headers=headers,
                              window_mb=window_mb)
    except RecordingError as exc:
        print(f"busconsole: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    ReplayApp(session, filter_text=filter or "").run()
    problems = session.recording.problems
    for problem in problems[:20]:
        print(f"busconsole: {problem}", file=sys.stderr)
    if len(problems) > 20:
        print(f"busconsole: ... and {len(problems) - 20} more damaged lines", file=sys.stderr)
    return EXIT_OK
