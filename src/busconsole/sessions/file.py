"""FileSession: a recording (or debug logs) shown by the app as a session, browsed or played back.

One store is fed from the lazily indexed recording, oldest first. Browse mode shows it
whole; playback mode shows a :class:`~busconsole.store.view.StoreView` of it as of the
:class:`~busconsole.playback.PlaybackClock`'s position, so pairing, console and counts
are those of that moment; seeking anywhere is instant (nothing is re-fed).

Loading is done in time-boxed batches (:meth:`FileSession.pump`) on the event loop,
so a window opens on the first frames at once and stays responsive while a large
file loads. Stores keep a bounded in-memory window (``window_mb``); older frames are
read back from the recording. Nothing here imports Textual or opens a socket itself
(``--to`` delegates to a :class:`~busconsole.sessions.base.LiveSession`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from busconsole.frames import CapturedFrame
from busconsole.playback import PlaybackClock
from busconsole.sessions.base import CannotSendError, SessionStatus, check_sendable
from busconsole.store.file import WINDOW_FRAMES, WINDOW_MB, FileStore
from busconsole.store.shown import ShownStore
from busconsole.store.view import StoreView

if TYPE_CHECKING:
    from busconsole.sessions.live import LiveSession

BROWSE, PLAYBACK = "browse", "playback"
FIRST_SCREEN_SECONDS = 0.005  # loading before the first screen: a few thousand frames
BATCH_SECONDS = 0.03  # loading work per turn of the event loop: keys are answered in between
FOLLOW_SECONDS = 0.25  # how often a followed file is checked for new lines
_CHECK_EVERY = 64  # frames between two looks at the deadline


def describe(paths: Sequence[str | Path]) -> str:
    """A short title for what was opened: one name, or the first names and how many more."""
    names = [Path(p).name or str(p) for p in paths]
    if len(names) <= 2:
        return ", ".join(names)
    return f"{names[0]}, {names[1]} +{len(names) - 2} more"


class FileSession:
    """The :class:`~busconsole.sessions.base.Session` of ``busconsole replay``."""

    def __init__(
        self,
        paths: Sequence[str | Path],
        *,
        follow: bool = False,
        to: str | None = None,
        read_only: bool = False,
        headers: dict[str, str] | None = None,
        window_mb: float = WINDOW_MB,
        window_frames: int = WINDOW_FRAMES,
    ) -> None:
        from busconsole.recording.reader import open_recording

        self.recording = open_recording(paths, follow=follow)  # RecordingError when it cannot
        self.title = describe(paths)
        self.status = SessionStatus(phase="indexing")
        self.subscriptions: dict[str, int] = {}
        self.read_only = read_only
        self.entity_hints: tuple[str, ...] = ()
        self.follow = follow
        self._window = (max(1, int(window_mb * 2**20)), max(1, window_frames))
        self.times = array("d")  # capture time of every loaded frame, made non-decreasing
        self.browse = self._new_store()
        self.store: ShownStore = self.browse  # the store on screen (the Session protocol's)
        self.clock = PlaybackClock(self.times)
        self.mode = BROWSE
        self.playback: StoreView | None = None  # the one store as of the clock, in playback mode
        self.generation = 0  # bumped whenever ``store`` is set (again)
        self.live: LiveSession | None = None
        if to is not None:
            from busconsole.sessions.live import LiveSession

            self.live = LiveSession(to, headers=headers, record=False, read_only=read_only)
        self._followed_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._held = False

    def _new_store(self) -> FileStore:
        return FileStore(self.recording, *self._window)

    # ------------------------------------------------------------------ what the app shows

    @property
    def loaded(self) -> bool:
        """The whole file (as far as it is written) is in the browse store."""
        return self.recording.indexing_done and len(self.browse) >= len(self.recording)

    @property
    def progress(self) -> float:
        """How far opening got, 0..1: indexing bytes counts for half, loading frames for the rest."""
        rec = self.recording
        if self.loaded:
            return 1.0
        loaded = len(self.browse) / len(rec) if len(rec) else 0.0
        return (rec.progress + (loaded if rec.indexing_done else 0.0)) / 2

    @property
    def session_ms(self) -> float | None:
        """The session's "now": the playback clock in playback mode, else the last frame loaded."""
        if self.mode == PLAYBACK:
            return self.clock.session_time
        return self.times[-1] if self.times else None

    # ------------------------------------------------------------------ modes and the clock

    def set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        if mode == PLAYBACK and self.playback is None:
            self.playback = StoreView(self.browse, min(self.clock.position, len(self.browse)))
        if mode == BROWSE:
            self.clock.pause()
        self.mode = mode
        self._show()

    def _show(self) -> None:
        """Put the playback store on screen in playback mode, else the whole file."""
        self.store = self.playback if self.mode == PLAYBACK and self.playback is not None else self.browse
        self.generation += 1

    def play_pause(self, now: float) -> None:
        """Space: start (from the beginning again once at the end) or pause the clock."""
        self.set_mode(PLAYBACK)
        if not self.clock.playing and self.clock.at_end:
            self.clock.seek(0)
        self.clock.toggle(now)

    def seek(self, position: int, now: float) -> None:
        """Reveal frames ``[0, position)``; the playback store follows on the next pumps."""
        self.set_mode(PLAYBACK)
        self.clock.seek(position, now)

    # ------------------------------------------------------------------ loading

    def pump(self, budget: float = BATCH_SECONDS, now: float | None = None) -> bool:
        """Do up to ``budget`` seconds of loading and playback; True while work remains."""
        now = time.monotonic() if now is None else now
        deadline = time.perf_counter() + budget
        self._poll_follow(now)
        self.clock.tick(now)
        busy = self._load_browse(deadline)
        if self.playback is not None:
            self._advance_playback()
        self._update_status()
        return busy

    def _feed(
        self, store: FileStore, target: int, deadline: float, seen: Callable[[CapturedFrame], None] | None = None
    ) -> None:
        rec = self.recording
        i = len(store)
        while i < target:
            frame = rec.frame(i)
            store.append(frame)
            if seen is not None:
                seen(frame)
            i += 1
            if not i % _CHECK_EVERY and time.perf_counter() > deadline:
                break

    def _seen(self, frame: CapturedFrame) -> None:
        times = self.times
        times.append(max(frame.t, times[-1]) if times else frame.t)
        if frame.dir == "out":
            self.status.frames_out += 1
        else:
            self.status.frames_in += 1

    def _load_browse(self, deadline: float) -> bool:
        end = len(self.recording)
        if len(self.browse) < end and time.perf_counter() < deadline:
            self._feed(self.browse, end, deadline, self._seen)
            self.browse.now_ms = self.times[-1] if self.times else None
        return not self.loaded

    def _advance_playback(self) -> None:
        """Move the view to the clock; a step back shows a new set of rows (the app rebinds)."""
        view = self.playback
        assert view is not None
        target = min(self.clock.position, len(self.browse))
        back = target < view.position
        view.position = target
        view.now_ms = self.clock.session_time
        if back and self.mode == PLAYBACK:
            self._show()

    def _poll_follow(self, now: float) -> None:
        if self.follow and self.loaded and now - self._followed_at >= FOLLOW_SECONDS:
            self._followed_at = now
            self.recording.refresh()

    def _update_status(self) -> None:
        st = self.status
        st.skipped = len(self.recording.problems)
        if not self.recording.indexing_done:
            st.phase = "indexing"
        elif not self.loaded:
            st.phase = "loading"
        else:
            st.phase = "following" if self.follow else "file"

    # ------------------------------------------------------------------ Session protocol

    @property
    def can_send(self) -> bool:
        return self.live is not None and self.live.can_send

    async def start(self) -> None:
        """Show the first frames at once, then load the rest in the background."""
        deadline = time.monotonic() + 0.05  # a small file is indexed by then, a big one has begun
        rec = self.recording
        while not (len(rec) or rec.indexing_done) and time.monotonic() < deadline:
            rec.wait(0.002)
        self.pump(FIRST_SCREEN_SECONDS)
        self._task = asyncio.create_task(self._run(), name="busconsole-replay")
        if self.live is not None:
            await self.live.start()

    def hold(self, held: bool = True) -> None:
        """Hold (or resume) indexing and loading beyond the first frames, so that a window being
        built has the interpreter and the event loop to itself: the first screen comes first."""
        self._held = held
        self.recording.pause_indexing(held)

    async def _run(self) -> None:
        while True:
            if self._held:
                await asyncio.sleep(0.01)
                continue
            busy = self.pump()
            await asyncio.sleep(0 if busy else 0.02 if self.clock.playing else 0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.live is not None:
            await self.live.stop()
        self.recording.close()
        self.status.phase = "closed"

    async def send(self, frame: dict[str, Any]) -> None:
        check_sendable(self, frame)
        assert self.live is not None  # can_send guarantees it
        await self.live.send(frame)

    async def subscribe(self, entity: str) -> None:
        raise CannotSendError("a replayed file has no subscriptions")

    async def unsubscribe(self, entity: str) -> None:
        self.subscriptions.pop(entity, None)
