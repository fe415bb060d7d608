"""`busconsole tail`: the live bus on stdout, one line per frame, for people and for pipes.

Frames are collected and written in batches, at most FLUSH_DELAY after they arrive:
a burst of thousands costs a few writes (and one redaction check), and a quiet bus
still shows each frame without a visible delay.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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
)
from busconsole.commands.headless import Predicate, frame_predicate, run_client, state_reporter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from busconsole.frames import CapturedFrame
    from busconsole.recording.redact import Redactor
    from busconsole.store import EventStore

FLUSH_DELAY = 0.02  # seconds: imperceptible to a person, hundreds of frames per write at full speed
MAX_BATCH = 4096  # frames held before a write regardless of the delay

HELP = (
    "Print every frame of the bus as it flows: time, direction, type, entity, operation, requestId "
    "and a short summary (coloured on a terminal), or with --json one recording-format line per "
    "frame (pipe it into jq, or save it and replay it).\n\n"
    "stdout carries only frames; connection changes go to stderr. tail reconnects by itself and "
    "re-subscribes. Secret fields are masked as in recordings.\n\n"
    "--doctor prints no frames: it checks the traffic for --duration seconds (or until --count "
    "frames or Ctrl-C), then prints the bus doctor's findings (with --json as a JSON array).\n\n"
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

    out = sys.stdout.buffer
    console = None
    if color:  # Rich only for colour: --json and plain lines never import it
        from rich.console import Console

        from busconsole.render import pretty_line

        console = Console(file=sys.stdout, force_terminal=True, highlight=False)
    redactor = opts.redactor()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    pending: list[CapturedFrame] = []
    append = pending.append
    printed = 0
    limit = count if count is not None else -1
    stopped = False  # done is set: a plain flag is what each frame checks
    timer: asyncio.TimerHandle | None = None

    def stop() -> None:
        nonlocal stopped
        stopped = True
        done.set()

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
            stop()

    def on_frame(f: CapturedFrame) -> None:  # once per frame: kept to a few operations
        nonlocal printed, timer
        if stopped or (keep is not None and not keep(f)):
            return
        append(f)
        printed += 1
        if printed == limit:
            stop()
        if timer is None:
            timer = loop.call_later(FLUSH_DELAY, flush)
        elif len(pending) >= MAX_BATCH:
            flush()

    import signal

    stopped_by: list[int] = []

    def signalled(code: int) -> None:
        stopped_by.append(code)
        stop()

    # Explicit handlers: a script's background job starts with SIGINT ignored, and Python then
    # never raises KeyboardInterrupt. SIGINT ends with 130 as a shell expects, SIGTERM with 0.
    loop.add_signal_handler(signal.SIGINT, signalled, 130)
    loop.add_signal_handler(signal.SIGTERM, signalled, EXIT_OK)
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

EXAMPLES = (
    "busconsole tail ws://localhost:3013/store-debug -s compute --filter 'is:error or level:error'",
    'busconsole tail ws://localhost:3013/store-debug -s partner --json --count 100 | jq .frame.type',
)


async def doctor_run(
    opts: ConnectOptions, keep: Predicate | None, duration: float | None, count: int | None, store: EventStore,
    server_logs: Path | None = None,
) -> int:
    """Collect frames in ``store`` (no output) until ``duration`` seconds or ``count`` frames."""
    import asyncio

    done = asyncio.Event()

    def on_frame(f: CapturedFrame) -> None:
        if done.is_set() or (keep is not None and not keep(f)):
            return
        store.append(f)
        if count is not None and len(store) >= count:
            done.set()

    async def until() -> None:
        if duration is None:
            await done.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), duration)

    phase = await run_client(opts, on_frame, state_reporter(opts.redacted_url()), until(), server_logs)
    return EXIT_UNREACHABLE if phase == "failed" else EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command("tail", help=command_help(HELP, EXAMPLES))
    def tail(
        url: UrlArg = None,
        subscribe: SubscribeOpt = None,
        types: Annotated[
            list[str] | None,
            typer.Option("--type", "-t", help="Only frames of TYPE (repeatable, or a,b).", metavar="TYPE")
        ] = None,
        entities: Annotated[
            list[str] | None,
            typer.Option("--entity", "-e", help="Only frames of ENTITY (repeatable, or a,b).", metavar="ENTITY")
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
        doctor: Annotated[
            bool, typer.Option("--doctor", help="Print no frames; check the traffic, then print the findings.")
        ] = False,
        duration: Annotated[
            float | None, typer.Option("--duration", help="With --doctor: stop after S seconds.", show_default=False)
        ] = None,
    ) -> None:
        run(url=url, subscribe=subscribe, types=types, entities=entities, filter_expr=filter_expr,
            as_json=as_json, count=count, color=color, token=token, header=header, profile=profile,
            server_logs=server_logs, doctor=doctor, duration=duration)


def run(
    *,
    url: str | None,
    subscribe: list[str] | None,
    types: list[str] | None,
    entities: list[str] | None,
    filter_expr: str | None,
    as_json: bool,
    count: int | None,
    color: bool | None,
    token: str | None,
    header: list[str] | None,
    profile: str | None,
    server_logs: Path | None = None,
    doctor: bool = False,
    duration: float | None = None,
) -> NoReturn:
    """The command, its options parsed (by typer, or by :func:`fast_run`); ends with typer.Exit."""
    import asyncio
    import os

    opts = connection_options(url, token=token, headers=header, profile=profile, subscribe=subscribe)
    flt = None
    if filter_expr:  # the filter language is imported only for a filter
        from busconsole.filtering import FilterError, parse_filter

        try:
            flt = parse_filter(filter_expr)
        except FilterError as exc:
            die(f"--filter: {exc}\n  {filter_expr}\n  {' ' * (exc.column - 1)}^", EXIT_USAGE)
    keep = frame_predicate(types, entities, flt)
    if duration is not None and (duration <= 0 or not doctor):
        die("--duration must be positive and goes with --doctor", EXIT_USAGE)
    if doctor:
        from busconsole.commands.headless import LIVE_WINDOW_BYTES, LIVE_WINDOW_FRAMES
        from busconsole.commands.replay import doctor_thresholds, print_doctor
        from busconsole.doctor import diagnose
        from busconsole.store import EventStore

        thresholds = doctor_thresholds(profile, None)
        store = EventStore(max_frames=LIVE_WINDOW_FRAMES, max_bytes=LIVE_WINDOW_BYTES)
        try:
            code = asyncio.run(doctor_run(opts, keep, duration, count, store, server_logs))
        except KeyboardInterrupt:
            code = 130  # what was seen until then is still reported
        print_doctor(diagnose(store, None, thresholds), as_json, None)
        raise typer.Exit(code)
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    try:
        code = asyncio.run(stream(opts, keep, as_json, count, color and not as_json, server_logs))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(code)


# option -> (keyword, kind): "flag" sets True/False, "one" takes a value once, "many" is repeatable
_FAST_OPTIONS: dict[str, tuple[str, str]] = {
    "--json": ("as_json", "flag"), "--color": ("color", "flag"), "--no-color": ("color", "flag"),
    "--count": ("count", "one"), "-n": ("count", "one"),
    "--filter": ("filter_expr", "one"), "-f": ("filter_expr", "one"),
    "--token": ("token", "one"), "--profile": ("profile", "one"), "-p": ("profile", "one"),
    "--type": ("types", "many"), "-t": ("types", "many"), "--entity": ("entities", "many"),
    "-e": ("entities", "many"), "--subscribe": ("subscribe", "many"), "-s": ("subscribe", "many"),
    "--header": ("header", "many"), "-H": ("header", "many"), "--server-logs": ("server_logs", "one"),
}
_FAST_ENV = {"token": "BUSCONSOLE_TOKEN", "profile": "BUSCONSOLE_PROFILE"}  # as the typer options read them


def fast_args(args: list[str]) -> dict[str, Any] | None:
    """The keywords of :func:`run` for ``busconsole tail ARGS`` when ARGS are of the plain shape
    below, else None (typer, where the options are defined, parses them and reports errors).

    Taken: one URL; each option of the command at most once, except the repeatable ones;
    values as the next argument or after ``=`` for long names, never starting with ``-``;
    --count a positive decimal number. Not taken: ``--``, ``-n5``, repeated single options,
    ``--help``, an empty BUSCONSOLE_TOKEN or BUSCONSOLE_PROFILE.
    """
    import os

    kw: dict[str, Any] = {"url": None, "subscribe": None, "types": None, "entities": None, "filter_expr": None,
                          "as_json": False, "count": None, "color": None, "token": None, "header": None,
                          "profile": None, "server_logs": None, "doctor": False, "duration": None}
    seen: set[str] = set()
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-"):
            if "url" in seen:
                return None
            seen.add("url")
            kw["url"] = arg
            continue
        name, eq, value = arg.partition("=")
        if not (eq and name.startswith("--")):
            name, eq = arg, ""
        known = _FAST_OPTIONS.get(name)
        if known is None:
            return None
        key, kind = known
        if kind != "many" and key in seen:
            return None
        seen.add(key)
        if kind == "flag":
            if eq:
                return None
            kw[key] = name != "--no-color"
            continue
        if not eq:
            value = next(rest, "-")
        if value.startswith("-"):
            return None
        if kind == "many":
            kw[key] = [*(kw[key] or ()), value]
        elif key == "count":
            if not (value.isascii() and value.isdigit()) or int(value) < 1:
                return None
            kw[key] = int(value)
        else:
            kw[key] = value
    if kw["server_logs"] is not None:
        kw["server_logs"] = Path(kw["server_logs"])
    for key, var in _FAST_ENV.items():
        if key not in seen and var in os.environ:
            if not os.environ[var]:
                return None
            kw[key] = os.environ[var]
    return kw


def fast_run(args: list[str]) -> int | None:
    """The exit code of ``busconsole tail ARGS`` run without building the typer app (pydantic,
    every command module: a few hundred ms before the first frame); None when ARGS are not of
    the shape :func:`fast_args` takes, and the typer command runs instead."""
    kw = fast_args(args)
    if kw is None:
        return None
    try:
        run(**kw)
    except typer.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:  # what click does for the typer command
        print("\nAborted!", file=sys.stderr)
        return 1
