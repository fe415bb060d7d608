"""`busconsole proxy`: a tap between frontends and a store server."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from busconsole.commands.common import (
    DEFAULT_URL,
    EXIT_USAGE,
    FilterOpt,
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
frame on stderr (nothing with --quiet); stdout stays empty. SIGINT/SIGTERM stop cleanly.

Exit codes: 0 stopped cleanly, 1 the recording lost frames, 2 could not listen or open
the recording, 64 bad usage.
"""


def register(app: typer.Typer) -> None:
    @app.command("proxy", help=HELP)
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
        show = None if quiet else _stderr_log(flt)
        session = ProxySession(
            upstream,
            host=host,
            port=port,
            record=record,
            record_session=not no_record,
            view=not (no_tui and quiet),
            on_view=show,
        )
        if no_tui:
            raise typer.Exit(asyncio.run(_headless(session)))
        _tui(session, filter_text)


def _stderr_log(flt: Filter | None) -> Callable[[CapturedFrame, FrameFacts], None]:
    """One line per frame shown on stderr: coloured on a terminal, plain otherwise."""
    from busconsole.render import pretty_line

    if sys.stderr.isatty():
        from rich.console import Console

        console = Console(stderr=True, highlight=False, soft_wrap=True)

        def write(frame: CapturedFrame) -> None:
            console.print(pretty_line(frame))
    else:

        def write(frame: CapturedFrame) -> None:
            sys.stderr.write(pretty_line(frame, color=False).plain + "\n")

    def show(frame: CapturedFrame, facts: FrameFacts) -> None:
        if flt is None or flt.matches(facts):
            write(frame)

    return show


async def _headless(session: ProxySession) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await session.start()
    except OSError as exc:
        note(f"error: {session.status.last_error or exc}")
        return EXIT_LISTEN
    where = session.status.recording_path
    note(f"{session.title}" + (f"; recording to {where}" if where else "; not recording"))
    await stop.wait()
    await session.stop()
    st = session.status
    note(
        f"stopped: {session.tap.total} connections, {st.frames_out} frames out, {st.frames_in} in"
        + (f", {st.skipped} not shown (log behind)" if st.skipped else "")
    )
    if st.last_error:
        note(f"error: {st.last_error}")
        return EXIT_LOST
    return 0


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
