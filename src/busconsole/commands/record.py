"""`busconsole record URL -o FILE`: headless recording of the bus to a v1 JSONL file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from busconsole.commands.common import (
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    ConnectOptions,
    FilterOpt,
    HeaderOpt,
    ProfileOpt,
    ServerLogsOpt,
    SubscribeOpt,
    TokenOpt,
    UrlArg,
    command_help,
    connection_options,
    die,
    filter_option,
    note,
)
from busconsole.commands.headless import Predicate, frame_predicate, run_client, state_reporter

if TYPE_CHECKING:
    import asyncio

    from busconsole.recording.redact import Redactor
    from busconsole.recording.writer import RecordingWriter

HELP = """Record every frame of the bus to FILE (the JSONL recording format, see the README), without a screen.

Each frame is written and flushed as it arrives, so a killed recorder loses at most
the line it was writing. The file is created 0600; fields named like password, token,
secret, authorization, apiKey or cookie are masked before they reach the disk
(--redact adds names, --no-default-redact drops the built-in ones). FILE.jsonl.gz is
gzip; --rotate-mb continues in FILE.1.jsonl, FILE.2.jsonl… which replay reads as one.
An existing FILE (or rotated parts of it) is never overwritten silently: --force
replaces it and removes all its old parts, --append adds a new session at its end
(replay reads that session apart from the old one's parts; not with --rotate-mb).
Progress (frames, bytes, rate) goes to stderr. Ctrl-C or SIGTERM close the file cleanly.

The recorder reconnects by itself while it runs.

Exit codes: 0 stopped (signal, --duration, --max-frames, or the server refused a
reconnect for good) after having been connected, 2 the server was never reached (or
refused the connection), 64 bad usage or a bad --filter, 1 the file could not be written.
"""

EXAMPLES = (
    'busconsole record ws://localhost:3013/store-debug -s partner -o session.jsonl --duration 60',
    'busconsole record ws://localhost:3013/store-debug -o day.jsonl.gz --rotate-mb 100 --redact sessionKey',
)


def register(app: typer.Typer) -> None:
    @app.command("record", help=command_help(HELP, EXAMPLES))
    def record(
        url: UrlArg = None,
        output: Annotated[Path, typer.Option("--output", "-o", help="Recording file to write.")] = Path(
            "busconsole.jsonl"
        ),
        subscribe: SubscribeOpt = None,
        filter_expr: FilterOpt = None,
        server_logs: ServerLogsOpt = None,
        duration: Annotated[
            float | None, typer.Option("--duration", help="Stop after S seconds.", show_default=False)
        ] = None,
        max_frames: Annotated[
            int | None, typer.Option("--max-frames", help="Stop after N recorded frames.", show_default=False)
        ] = None,
        rotate_mb: Annotated[
            float | None,
            typer.Option("--rotate-mb", help="Start a new numbered file past N MB.", show_default=False),
        ] = None,
        redact: Annotated[
            list[str] | None,
            typer.Option("--redact", help="Also mask fields named like FIELD (repeatable).", metavar="FIELD",
                         show_default=False),
        ] = None,
        no_default_redact: Annotated[
            bool, typer.Option("--no-default-redact", help="Do not mask the built-in secret fields.")
        ] = False,
        force: Annotated[
            bool, typer.Option("--force", help="Replace an existing FILE and remove its rotated parts.")
        ] = False,
        append: Annotated[
            bool, typer.Option("--append", help="Add a new session at the end of an existing FILE.")
        ] = False,
        token: TokenOpt = None,
        header: HeaderOpt = None,
        profile: ProfileOpt = None,
    ) -> None:
        import asyncio

        from busconsole.recording.redact import Redactor

        opts = connection_options(url, token=token, headers=header, profile=profile, subscribe=subscribe)
        keep = frame_predicate(None, None, filter_option(filter_expr))
        if duration is not None and duration <= 0:
            die("--duration must be positive", EXIT_USAGE)
        if max_frames is not None and max_frames <= 0:
            die("--max-frames must be positive", EXIT_USAGE)
        _check_output(output, force=force, append=append, rotate_mb=rotate_mb)
        redactor = Redactor([*opts.redact, *(redact or ())], defaults=not no_default_redact)
        code = asyncio.run(_record(opts, output, redactor, keep, duration, max_frames, rotate_mb, append,
                                   server_logs))
        raise typer.Exit(code)


async def _record(
    opts: ConnectOptions,
    output: Path,
    redactor: Redactor,
    keep: Predicate | None,
    duration: float | None,
    max_frames: int | None,
    rotate_mb: float | None,
    append: bool = False,
    server_logs: Path | None = None,
) -> int:
    import asyncio
    import signal
    import time

    from busconsole.frames import CapturedFrame
    from busconsole.recording.writer import RecordingWriter
    from busconsole.transport.state import ConnectionState

    try:
        writer = RecordingWriter(output, opts.url, redactor=redactor, rotate_mb=rotate_mb, append=append)
    except OSError as exc:
        note(f"error: cannot write {output}: {exc}")
        return 1
    stop = asyncio.Event()
    connected: list[bool] = []
    failed: list[OSError] = []
    report = state_reporter(opts.redacted_url())

    def on_frame(frame: CapturedFrame) -> None:
        if stop.is_set() or (keep is not None and not keep(frame)):
            return
        try:
            writer.write(frame)
        except OSError as exc:  # disk full, I/O error: one line and exit 1, never a traceback
            failed.append(exc)
            stop.set()
            return
        if max_frames is not None and writer.frames >= max_frames:
            stop.set()

    def on_state(state: ConnectionState) -> None:
        report(state)
        if state.phase == "connected":
            connected.append(True)
        if state.phase == "failed":
            stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    try:
        await run_client(opts, on_frame, on_state, _progress(writer, stop, started, duration), server_logs)
    finally:
        try:
            writer.close()
        except OSError as exc:
            failed.append(exc)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if failed:
        note(f"error: cannot write {writer.path}: {failed[0].strerror or failed[0]}; "
             f"stopped after {writer.frames} frames")
        return 1
    _summary(writer, time.monotonic() - started)
    if not connected:
        return EXIT_UNREACHABLE
    return EXIT_OK


def _check_output(output: Path, *, force: bool, append: bool, rotate_mb: float | None) -> None:
    """Refuse to overwrite a recording by accident; with --force remove all of the old one."""
    from busconsole.recording.writer import existing_parts

    if force and append:
        die("--force and --append exclude each other", EXIT_USAGE)
    if append and rotate_mb:
        die("--append cannot be combined with --rotate-mb (new parts would replace the old ones)", EXIT_USAGE)
    old = existing_parts(output)
    if not old:
        return
    parts = [p for p in old if p != output]
    what = f"{output} already exists" if output in old else f"{output} has rotated parts left"
    if parts:
        what += f" (with {len(parts)} rotated part{'s' if len(parts) != 1 else ''})"
    if append:
        if parts:
            die(f"{what}: --append cannot continue a rotated recording; use --force or another file",
                EXIT_USAGE)
        if output.is_dir():
            die(f"{output} is a folder", EXIT_USAGE)
        return
    if not force:
        die(f"{what}; use --force to replace it or --append to add a new session", EXIT_USAGE)
    for p in old:
        try:
            p.unlink()
        except OSError as exc:
            die(f"cannot remove {p}: {exc}", 1)


async def _progress(
    writer: RecordingWriter, stop: asyncio.Event, started: float, duration: float | None
) -> None:
    """Wait for the stop event (or the duration), redrawing a progress line on a terminal."""
    import asyncio
    import contextlib
    import time

    from rich.console import Console
    from rich.live import Live

    deadline = None if duration is None else started + duration
    console = Console(stderr=True, highlight=False)
    live = Live(console=console, refresh_per_second=4, transient=True) if console.is_terminal else None
    with live if live is not None else contextlib.nullcontext():
        while not stop.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25 if left is None else min(0.25, left))
            if live is not None:
                live.update(_status(writer, time.monotonic() - started))


def _status(writer: RecordingWriter, elapsed: float) -> str:
    from busconsole.render import fmt_size

    rate = writer.frames / elapsed if elapsed > 0 else 0.0
    return (f"recording {writer.path}: {writer.frames} frames, {fmt_size(writer.bytes)}, "
            f"{rate:,.0f} frames/s")


def _summary(writer: RecordingWriter, elapsed: float) -> None:
    parts = ", ".join(str(p) for p in writer.paths)
    note(_status(writer, elapsed).replace(f"recording {writer.path}", f"recorded {parts}"))
    sys.stderr.flush()
