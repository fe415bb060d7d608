"""`busconsole tail`: the live bus on stdout, one line per frame, for people and for pipes.

Frames are collected and written in batches, at most FLUSH_DELAY after they arrive:
a burst of thousands costs a few writes (and one redaction check), and a quiet bus
still shows each frame without a visible delay.
"""

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
    connection_options,
    die,
)
from busconsole.commands.headless import Predicate, frame_predicate, run_client, state_reporter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from busconsole.frames import CapturedFrame
    from busconsole.recording.redact import Redactor

FLUSH_DELAY = 0.02  # seconds: imperceptible to a person, hundreds of frames per write at full speed
MAX_BATCH = 4096  # frames held before a write regardless of the delay

HELP = (
    "Print every frame of the bus as it flows: time, direction, type, entity, operation, requestId "
    "and a short summary (coloured on a terminal), or with --json one recording-format line per "
    "frame (pipe it into jq, or save it and replay it).\n\n"
    "stdout carries only frames; connection changes go to stderr. tail reconnects by itself and "
    "re-subscribes. Secret fields are masked as in recordings.\n\n"
    "Exit codes: 0 after --count frames, 2 if the server refuses the connection for good "
    "(e.g. HTTP 401), 64 bad usage or a bad --filter, 130 interrupted."
)


def batch_output(frames: Sequence[CapturedFrame], redactor: Redactor, as_json: bool) -> bytes:
    """What ``tail`` writes for a batch without colour: recording lines or plain pretty lines.

    Every frame, binary ones included, is redacted first; a batch that names no rule costs
    one byte check. Pretty lines have control characters escaped (see ``render.summary``).
    """
    from busconsole.recording.format import encode_many
    from busconsole.render import pretty_line

    frames = redactor.redact_frames(frames)
    if as_json:
        return encode_many(frames)
    return b"".join(pretty_line(f, False).plain.encode() + b"\n" for f in frames)


async def stream(
    opts: ConnectOptions, keep: Predicate | None, as_json: bool, count: int | None, color: bool,
    server_logs: Path | None = None,
) -> int:
    """Run until ``count`` frames were printed, stdout closes, or the client fails."""
    import asyncio
    import os

    from rich.console import Console

    from busconsole.render import pretty_line

    out = sys.stdout.buffer
    console = Console(file=sys.stdout, force_terminal=True, highlight=False) if color else None
    redactor = opts.redactor()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    pending: list[CapturedFrame] = []
    printed = 0
    timer: asyncio.TimerHandle | None = None

    def flush() -> None:
        nonlocal timer
        if timer is not None:
            timer.cancel()
            timer = None
        frames = pending[:]
        pending.clear()
        try:
            if console is not None:
                for f in redactor.redact_frames(frames):  # one cheap check per batch
                    console.print(pretty_line(f, True), no_wrap=True, overflow="ellipsis", crop=True)
            else:
                out.write(batch_output(frames, redactor, as_json))
            out.flush()
        except BrokenPipeError:  # the reader went away (| head): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
            done.set()

    def on_frame(f: CapturedFrame) -> None:
        nonlocal printed, timer
        if done.is_set() or (keep is not None and not keep(f)):
            return
        pending.append(f)
        printed += 1
        if count is not None and printed >= count:
            done.set()
        if len(pending) >= MAX_BATCH:
            flush()
        elif timer is None:
            timer = loop.call_later(FLUSH_DELAY, flush)

    import signal

    stopped_by: list[int] = []

    def stop(code: int) -> None:
        stopped_by.append(code)
        done.set()

    # Explicit handlers: a script's background job starts with SIGINT ignored, and Python then
    # never raises KeyboardInterrupt. SIGINT ends with 130 as a shell expects, SIGTERM with 0.
    loop.add_signal_handler(signal.SIGINT, stop, 130)
    loop.add_signal_handler(signal.SIGTERM, stop, EXIT_OK)
    try:
        phase = await run_client(opts, on_frame, state_reporter(opts.redacted_url()), done.wait(), server_logs)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if pending:
            flush()
    if stopped_by:
        return stopped_by[0]
    return EXIT_UNREACHABLE if phase == "failed" else EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command("tail", help=HELP)
    def tail(
        url: UrlArg = None,
        subscribe: SubscribeOpt = None,
        types: Annotated[
            list[str] | None, typer.Option("--type", "-t", help="Only frames of TYPE (repeatable, or a,b).")
        ] = None,
        entities: Annotated[
            list[str] | None, typer.Option("--entity", "-e", help="Only frames of ENTITY (repeatable, or a,b).")
        ] = None,
        filter_expr: FilterOpt = None,
        server_logs: ServerLogsOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="One recording-format JSON line per frame.")] = False,
        count: Annotated[int | None, typer.Option("--count", "-n", min=1, help="Exit after N frames.")] = None,
        color: Annotated[
            bool | None, typer.Option("--color/--no-color", help="Colour (default: when stdout is a terminal).")
        ] = None,
        token: TokenOpt = None,
        header: HeaderOpt = None,
        profile: ProfileOpt = None,
    ) -> None:
        import asyncio
        import os

        from busconsole.filtering import FilterError, parse_filter

        opts = connection_options(url, token=token, headers=header, profile=profile, subscribe=subscribe)
        try:
            flt = parse_filter(filter_expr) if filter_expr else None
        except FilterError as exc:
            die(f"--filter: {exc}\n  {filter_expr}\n  {' ' * (exc.column - 1)}^", EXIT_USAGE)
        keep = frame_predicate(types, entities, flt)
        if color is None:
            color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        try:
            code = asyncio.run(stream(opts, keep, as_json, count, color and not as_json, server_logs))
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        raise typer.Exit(code)
