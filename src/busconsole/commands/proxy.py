"""`busconsole proxy`: a tap between frontends and a store server."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from busconsole.commands.common import (
    DEFAULT_URL,
    EXIT_USAGE,
    FilterOpt,
    command_help,
    die,
    filter_option,
    note,
    redacted_url,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from busconsole.facts import FrameFacts
    from busconsole.filtering import Filter
    from busconsole.frames import CapturedFrame
    from busconsole.recording.redact import Redactor
    from busconsole.sessions.proxy import ProxySession

EXIT_LISTEN = 2  # could not listen or could not open the recording
EXIT_LOST = 1  # the recording lost frames (disk full, backlog overflow)

HELP = """Sit between frontends and a store server and show every client's traffic.

Point the frontends at ws://LISTEN instead of the server. Each connection gets its own
upstream connection (same path and query string; Authorization, Cookie, Origin and the
subprotocol passed through) and an id c1, c2, … Frames are forwarded unchanged, byte for
byte, both ways. The stream also carries PROXY_OPEN / PROXY_CLOSE frames (dir in) with
the peer address and close codes; `conn:c2` filters one client. When the server cannot
be reached, the frontend is closed with 1014 and the reason; the proxy keeps listening.

Everything is recorded (--record FILE, else a new file in the sessions folder) even when
the view falls behind; --filter only narrows what is shown. --no-tui logs one line per
frame on stderr (nothing with --quiet), written in batches by a thread of its own: when
stderr is slow or blocked, lines are dropped and counted, never the traffic held up.
Secrets are masked in those lines as in recordings (the forwarded frames are untouched).
stdout stays empty. SIGINT/SIGTERM stop cleanly.

Exit codes: 0 stopped cleanly, 1 the recording lost frames, 2 could not listen or open
the recording, 64 bad usage.
"""

EXAMPLES = (
    'busconsole proxy --listen 127.0.0.1:3014 --upstream ws://localhost:3013/store-debug',
    'busconsole proxy --upstream ws://localhost:3013/store-debug --no-tui --record tap.jsonl',
)


def register(app: typer.Typer) -> None:
    @app.command("proxy", help=command_help(HELP, EXAMPLES))
    def proxy(
        listen: Annotated[str, typer.Option(help="HOST:PORT to accept frontends on.")] = "127.0.0.1:3014",
        upstream: Annotated[str, typer.Option(help="The store server's WebSocket URL.")] = DEFAULT_URL,
        record: Annotated[
            Path | None,
            typer.Option(help="Recording file (.jsonl or .jsonl.gz) [default: a new session file].",
                         show_default=False),
        ] = None,
        no_record: Annotated[bool, typer.Option("--no-record", help="Do not record.")] = False,
        no_tui: Annotated[bool, typer.Option("--no-tui", help="Headless: log frames on stderr.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="With --no-tui: no per-frame log.")] = False,
        filter_text: FilterOpt = None,
    ) -> None:
        from busconsole.commands.headless import LIVE_WINDOW_BYTES, LIVE_WINDOW_FRAMES
        from busconsole.sessions.proxy import ProxySession
        from busconsole.transport.proxy import is_loopback, parse_listen

        try:
            host, port = parse_listen(listen)
        except ValueError as exc:
            die(str(exc), EXIT_USAGE)
        if not upstream.startswith(("ws://", "wss://")):
            die(f"--upstream {redacted_url(upstream)!r}: expected ws:// or wss://", EXIT_USAGE)
        if record is not None and no_record:
            die("--record and --no-record contradict each other", EXIT_USAGE)
        flt = filter_option(filter_text)
        if not is_loopback(host):
            note(f"warning: listening on {host}, not loopback: anyone who can reach it sees the traffic")
        log = StderrLog(frames=not quiet, flt=flt) if no_tui else None
        session = ProxySession(
            upstream,
            host=host,
            port=port,
            record=record,
            record_session=not no_record,
            view=not (no_tui and quiet),
            window=(LIVE_WINDOW_FRAMES, LIVE_WINDOW_BYTES) if no_tui else None,
            on_view=log.show if log is not None and not quiet else None,
        )
        if no_tui:
            import asyncio

            assert log is not None
            raise typer.Exit(asyncio.run(_headless(session, log)))
        _tui(session, filter_text)


LOG_BACKLOG = 4096  # lines waiting for stderr at most; past it they are dropped and counted
LOG_BACKLOG_BYTES = 8 * 2**20  # and bytes of frames waiting to be shown (big frames fill it first)
REDACT_CHUNK = 256 * 2**10  # bytes of frames checked for secrets at once: the GIL is held that long
LOG_PAUSE = 0.02  # seconds the writer lets lines gather between writes
STOP_FLUSH = 1.0  # seconds a stopping proxy waits for stderr to take its last lines
STUCK = 0.25  # a write to stderr taking longer than this: stderr is blocked, stopping waits no more


class StderrLog:
    """The headless proxy's stderr: per-frame lines and notes, written by a thread of its own.

    The event loop only appends to a bounded deque (never a system call, never a wait); the
    thread redacts and formats what gathered and writes it with one ``os.write`` per
    wake-up, straight to fd 2 so no Python lock is held while a blocked stderr (a paused
    pager, a pipe nobody reads) keeps it waiting. Lines that do not fit are dropped and
    counted, and the count is reported on stderr as soon as it takes writes again, and in
    the final note.

    Each frame is shown redacted (``redactor``, the recording's default rules unless
    given): secrets inside string values (a requestId, a console message, a URL's
    ``?token=``) never reach stderr. A batch that names no rule costs one byte check
    (one per 256 KiB of frames). The backlog is bounded in lines and in bytes.
    """

    def __init__(self, *, frames: bool = True, flt: Filter | None = None, fd: int = 2,
                 color: bool | None = None, backlog: int = LOG_BACKLOG, backlog_bytes: int = LOG_BACKLOG_BYTES,
                 redactor: Redactor | None = None) -> None:
        from busconsole.recording.redact import Redactor
        from busconsole.render import plain_line

        self.fd = fd
        self.flt = flt
        self.redactor = redactor if redactor is not None else Redactor()
        self.backlog = backlog
        self.backlog_bytes = backlog_bytes
        if color is None:
            color = frames and os.isatty(fd) and not os.environ.get("NO_COLOR")
        self._format = plain_line
        self._color = color
        self.dropped = 0
        self._reported = 0
        self._items: deque[CapturedFrame | str] = deque()
        # Bytes of frames queued (the loop's thread adds) and shown (the writer thread adds):
        # one writer each, so no lock.
        self._queued = 0
        self._taken = 0
        self._wake = threading.Event()
        self._closing = False
        self._writing_since: float | None = None  # when the write in progress began
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="busconsole-stderr", daemon=True)
        self._thread.start()

    def show(self, frame: CapturedFrame, facts: FrameFacts) -> None:
        """The view's callback: queue ``frame``'s line when it passes the filter."""
        if self.flt is None or self.flt.matches(facts):
            self._put(frame)

    def note(self, message: str) -> None:
        """A diagnostic line (``busconsole: …``), in order with the frame lines."""
        self._put(f"busconsole: {message}\n")

    def _put(self, item: CapturedFrame | str) -> None:
        size = 0 if isinstance(item, str) else len(item.raw)
        if len(self._items) >= self.backlog or size and self._queued - self._taken + size > self.backlog_bytes:
            self.dropped += 1
            return
        self._queued += size
        self._items.append(item)
        self._idle.clear()
        if not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        items, fmt, color = self._items, self._format, self._color
        while True:
            self._wake.wait()
            self._wake.clear()
            closing = self._closing
            lines = self._lines(items, fmt, color)
            dropped = self.dropped
            if dropped != self._reported:
                lines.append(f"busconsole: {dropped - self._reported} log lines dropped (stderr too slow)\n")
                self._reported = dropped
            if lines:
                self._write("".join(lines).encode("utf-8", "replace"))
            if not items:
                self._idle.set()
            if closing and not items:
                return
            time.sleep(LOG_PAUSE)

    def _lines(self, items: deque[CapturedFrame | str], fmt: Callable[[CapturedFrame, bool], str],
               color: bool) -> list[str]:
        """What gathered, as lines in order: the frames redacted together (one byte check for
        each chunk of the batch when it names no secret), then formatted."""
        batch = [items.popleft() for _ in range(len(items))]
        frames = [item for item in batch if not isinstance(item, str)]
        redacted: list[CapturedFrame] = []
        chunk: list[CapturedFrame] = []
        size = 0
        for frame in frames:  # checked a chunk at a time, so no one check holds the GIL long
            chunk.append(frame)
            size += len(frame.raw)
            if size >= REDACT_CHUNK:
                redacted += self.redactor.redact_frames(chunk)
                chunk, size = [], 0
        if chunk:
            redacted += self.redactor.redact_frames(chunk)
        self._taken += sum(len(f.raw) for f in frames)
        shown = iter(redacted)
        return [item if isinstance(item, str) else fmt(next(shown), color) + "\n" for item in batch]

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        self._writing_since = time.monotonic()
        try:
            while view:
                try:
                    view = view[os.write(self.fd, view):]
                except InterruptedError:
                    continue
                except OSError:  # stderr closed (EPIPE): nothing more can be said there
                    return
        finally:
            self._writing_since = None

    def close(self, timeout: float = STOP_FLUSH) -> bool:
        """Write what is queued, waiting at most ``timeout``, or hardly at all when a write has
        been blocked for STUCK seconds already; False when stderr did not take it (the thread
        is left blocked on it; being a daemon, it does not keep the process alive)."""
        self._closing = True
        self._wake.set()
        since = self._writing_since
        if since is not None and time.monotonic() - since > STUCK:
            timeout = min(timeout, 0.05)
        self._thread.join(timeout)
        return not self._thread.is_alive()


async def _headless(session: ProxySession, log: StderrLog) -> int:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await session.start()
        except OSError as exc:
            log.note(f"error: {session.status.last_error or exc}")
            return EXIT_LISTEN
        where = session.status.recording_path
        log.note(f"{session.title}" + (f"; recording to {where}" if where else "; not recording"))
        await stop.wait()
        await session.stop()
        st = session.status
        log.note(
            f"stopped: {session.tap.total} connections, {st.frames_out} frames out, {st.frames_in} in"
            + (f", {st.skipped} not shown (log behind)" if st.skipped else "")
            + (f", {log.dropped} log lines dropped (stderr too slow)" if log.dropped else "")
        )
        if st.last_error:
            log.note(f"error: {st.last_error}")
            return EXIT_LOST
        return 0
    finally:
        await asyncio.to_thread(log.close)


def _tui(session: ProxySession, filter_text: str | None) -> None:
    """The app starts the session itself, so a busy port is found here first, for a clean exit."""
    import socket

    from busconsole.tui.app import BusConsoleApp

    tap = session.tap
    try:
        with socket.create_server((tap.host, tap.port)):
            pass
    except OSError as exc:
        die(f"cannot listen on {tap.listen_spec}: {exc.strerror or exc}", EXIT_LISTEN)
    BusConsoleApp(session, filter_text=filter_text or "").run()
