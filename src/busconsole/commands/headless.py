"""What the screenless client commands (tail, record) share: which frames to keep,
connection changes as stderr lines, and one client run from start to a clean close.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from busconsole.commands.common import note

if TYPE_CHECKING:
    from busconsole.commands.common import ConnectOptions
    from busconsole.filtering import Filter
    from busconsole.frames import CapturedFrame
    from busconsole.transport.state import ConnectionState, Phase

Predicate = Callable[["CapturedFrame"], bool]
LIVE_WINDOW_FRAMES = 200_000  # what a pairing filter on a live stream remembers
LIVE_WINDOW_BYTES = 64 * 2**20


def _split(values: list[str] | None) -> set[str]:
    return {v.strip() for value in values or () for v in value.split(",") if v.strip()}


def frame_predicate(
    types: list[str] | None, entities: list[str] | None, flt: Filter | None
) -> Predicate | None:
    """One test for --type, --entity and --filter together; None when every frame passes."""
    tests: list[Predicate] = []
    wanted_types = {t.upper() for t in _split(types)}
    if wanted_types:
        tests.append(lambda f: f.type in wanted_types)
    wanted_entities = _split(entities)
    if wanted_entities:
        tests.append(lambda f: (o := f.obj) is not None and o.get("entity") in wanted_entities)
    if flt is not None and flt.needs_pairing:
        # Judged in a store, as the TUI judges it: the frame paired with those before it.
        from busconsole.store import EventStore

        store = EventStore(max_frames=LIVE_WINDOW_FRAMES, max_bytes=LIVE_WINDOW_BYTES)
        tests.insert(0, lambda f: flt.matches(store.facts(store.append(f))))  # first: sees every frame
    elif flt is not None:
        from busconsole.facts import FrameFacts

        tests.append(lambda f: flt.matches(FrameFacts(f)))
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda f: all(test(f) for test in tests)


def state_reporter(url: str) -> Callable[[ConnectionState], None]:
    """A stderr line per phase change (not per counter change)."""
    last: list[tuple[str, int]] = []

    def report(state: ConnectionState) -> None:
        key = (state.phase, state.attempt)
        if last and last[-1] == key:
            return
        last[:] = [key]
        if state.phase == "connecting" and state.attempt <= 1:
            note(f"connecting to {url}")
        elif state.phase == "connected":
            note(f"connected to {url}")
        elif state.phase == "reconnecting":
            note(f"{state.last_error}; reconnecting in {state.retry_in or 0:.1f} s (attempt {state.attempt})")
        elif state.phase == "failed":
            note(f"failed: {state.last_error}")

    return report


async def run_client(
    opts: ConnectOptions,
    on_frame: Callable[[CapturedFrame], None],
    on_state: Callable[[ConnectionState], None],
    until: Awaitable[object],
    server_logs: Path | None = None,
) -> Phase:
    """Run a client (reconnecting by itself) until ``until`` finishes or the client ends on
    its own, then close it. Returns the phase it had before the close (``failed`` when the
    server refused it for good)."""
    import asyncio
    import itertools

    from busconsole.transport.client import BusClient

    waiter = asyncio.ensure_future(until)
    seq = itertools.count(1)  # the client's frames and the log folder's share one numbering
    following: asyncio.Task[None] | None = None
    try:
        async with BusClient(opts.url, headers=opts.headers, subscribe=opts.subscribe, on_frame=on_frame,
                             on_state=on_state, seq=seq) as client:
            if server_logs is not None:
                from busconsole.recording.follow import FolderFollower, follow_folder

                following = asyncio.create_task(follow_folder(FolderFollower(server_logs, seq.__next__), on_frame))
            assert client.task is not None
            await asyncio.wait((client.task, waiter), return_when=asyncio.FIRST_COMPLETED)
            phase = client.state.phase
            if waiter.done():
                waiter.result()  # what ``until`` raised goes on up
            return phase
    finally:
        waiter.cancel()
        if following is not None:
            following.cancel()
