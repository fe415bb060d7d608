"""`busconsole tail`: the live bus on stdout, one line per frame, for people and for pipes.

Frames are collected and written in batches, at most FLUSH_DELAY after they arrive:
a burst of thousands costs a few writes (and one redaction check), and a quiet bus
still shows each frame without a visible delay.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
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
    SubscribeOpt,
    TokenOpt,
    UrlArg,
    connection_options,
    die,
    note,
)

if TYPE_CHECKING:
    from busconsole.frames import CapturedFrame
    from busconsole.transport.client import ConnectionState

Predicate = Callable[["CapturedFrame"], bool]
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


def _split(values: list[str] | None) -> set[str]:
    return {v.strip() for value in values or () for v in value.split(",") if v.strip()}


def frame_predicate(
    types: list[str] | None, entities: list[str] | None, expr: str | None
) -> Predicate | None:
    """One test for --type, --entity and --filter together; None when every frame passes.
    Raises FilterError for a bad expression."""
    tests: list[Predicate] = []
    wanted_types = {t.upper() for t in _split(types)}
    if wanted_types:
        tests.append(lambda f: f.type in wanted_types)
    wanted_entities = _split(entities)
    if wanted_entities:
        tests.append(lambda f: (o := f.obj) is not None and o.get("entity") in wanted_entities)
    if expr:
        from busconsole.facts import FrameFacts
        from busconsole.filters import parse_filter

        flt = parse_filter(expr)
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


async def stream(
    opts: ConnectOptions, keep: Predicate | None, as_json: bool, count: int | None, color: bool
) -> int:
    """Run until ``count`` frames were printed, stdout closes, or the client fails."""
    import asyncio
    import os

    from rich.console import Console

    from busconsole.frames import CapturedFrame
    from busconsole.render import pretty_line
    from busconsole.transport.client import BusClient

    out = sys.stdout.buffer
    console = Console(file=sys.stdout, force_terminal=True, highlight=False) if color else None
    redactor = opts.redactor()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    pending: list[CapturedFrame] = []
    printed = 0
    timer: asyncio.TimerHandle | None = None

    def shown(f: CapturedFrame) -> CapturedFrame:
        if f.binary:
            return f
        raw = redactor.redact_raw(f.raw)
        return f if raw is f.raw else CapturedFrame(f.seq, f.t, f.dir, f.conn, raw, f.binary)

    def flush() -> None:
        nonlocal timer
        if timer is not None:
            timer.cancel()
            timer = None
        frames = pending[:]
        pending.clear()
        if redactor.might_contain(b"\n".join(f.raw for f in frames)):  # one cheap check per batch
            frames = [shown(f) for f in frames]
        try:
            if as_json:
                out.write(b"".join(f.record_line() for f in frames))
            elif console is not None:
                for f in frames:
                    console.print(pretty_line(f, True), no_wrap=True, overflow="ellipsis", crop=True)
            else:
                out.write(b"".join(pretty_line(f, False).plain.encode() + b"\n" for f in frames))
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

    client = BusClient(opts.url, headers=opts.headers, subscribe=opts.subscribe, on_frame=on_frame,
                       on_state=state_reporter(opts.redacted_url()))
    runner = asyncio.create_task(client.run())
    finished = asyncio.create_task(done.wait())
    try:
        await asyncio.wait((runner, finished), return_when=asyncio.FIRST_COMPLETED)
        failed = client.state.phase == "failed"
    finally:
        finished.cancel()
        await client.close()
        await runner
        if pending:
            flush()
    return EXIT_UNREACHABLE if failed else EXIT_OK


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

        from busconsole.filters import FilterError

        opts = connection_options(url, token=token, headers=header, profile=profile, subscribe=subscribe)
        try:
            keep = frame_predicate(types, entities, filter_expr)
        except FilterError as exc:
            die(f"--filter: {exc}\n  {filter_expr}\n  {' ' * (exc.column - 1)}^", EXIT_USAGE)
        if color is None:
            color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        try:
            code = asyncio.run(stream(opts, keep, as_json, count, color and not as_json))
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        raise typer.Exit(code)
