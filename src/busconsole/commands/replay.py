"""`busconsole replay FILE...`: a recording (or plain event JSONL, or store-server debug logs)
on screen, on stdout, summarised, or re-sent to a live server."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from busconsole.commands.common import (
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    FilterOpt,
    HeaderOpt,
    ProfileOpt,
    TokenOpt,
    command_help,
    connection_options,
    die,
    filter_option,
    note,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from busconsole.commands.common import ConnectOptions
    from busconsole.doctor import Report, Thresholds
    from busconsole.filtering import Filter
    from busconsole.frames import CapturedFrame
    from busconsole.recording.reader import Recording
    from busconsole.store.file import FileStore

from busconsole.commands.replay_to import EXIT_MISMATCH, Pace, send

HELP = """Open recordings, plain event JSONL and store-server debug logs (files, folders, globs;
merged in time order) and show them in the TUI; when stdout is not a terminal, or with
--print, write the frames matching --filter to stdout as recording lines (--format
pretty for one readable line each). --stats prints counts per type, entity and console
level, the time span and request latencies.

--to URL re-sends the recorded client→server requests to a live store server with
fresh requestIds (the old → new mapping is printed). Without --yes it is a dry run:
the plan is printed and nothing is sent. --pace original keeps the recorded spacing
(scaled by --speed), fast sends at once, ack waits for each reply. --check compares
every reply (SUBSCRIBE's SUBSCRIPTION_DATA too) with the recorded one, ignoring
timestamps and requestIds, and prints the differences; --ignore PATH (repeatable;
wildcards: '*.updatedAt', 'data.data[*].version') leaves more out, and the differing
paths it left out are listed as "ignored:". On a terminal, --to without --yes,
--check, --print or --stats opens the TUI instead, with URL as where `e` (edit and
resend) sends; --read-only refuses mutations there.

--doctor checks the traffic against the framework's best practices and prints the
findings, most severe first, each with its count, entities, connections, up to five
example frames and the filter that shows them (--json: a JSON array of findings);
--fail-on warn|error exits 1 when a finding reaches that severity. --threshold
NAME=VALUE (repeatable) or the profile's `doctor` table change what counts.

Exit codes: 0 done (every reply matched with --check), 1 a reply differed or was an
ERROR or never came, or --fail-on was reached, 2 a file could not be read or the server could not be reached,
64 bad usage or a bad --filter.
"""


class Format(StrEnum):
    jsonl = "jsonl"
    pretty = "pretty"


class FailOn(StrEnum):
    warn = "warn"
    error = "error"



EXAMPLES = (
    'busconsole replay session.jsonl',
    'busconsole replay debug-store/ --print --filter level:error --format pretty',
    'busconsole replay session.jsonl --stats --filter entity:partner',
    "busconsole replay session.jsonl --to ws://localhost:3013/store-debug --yes --pace ack --check --ignore '*.updatedAt'",
)


def register(app: typer.Typer) -> None:
    @app.command("replay", help=command_help(HELP, EXAMPLES))
    def replay(
        files: Annotated[list[str], typer.Argument(help="Recordings, folders or globs.", show_default=False)],
        print_: Annotated[bool, typer.Option("--print", help="Write matching frames to stdout.")] = False,
        stats: Annotated[bool, typer.Option("--stats", help="Print counts, time span and latencies.")] = False,
        filter_expr: FilterOpt = None,
        fmt: Annotated[Format, typer.Option("--format", help="Output of --print.")] = Format.jsonl,
        follow: Annotated[bool, typer.Option("--follow", help="Keep reading as the last file grows.")] = False,
        to: Annotated[
            str | None, typer.Option("--to", help="Re-send the requests to this server.", show_default=False)
        ] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Really send (mutations included).")] = False,
        pace: Annotated[Pace, typer.Option("--pace", help="Spacing of re-sent requests.")] = Pace.original,
        speed: Annotated[float, typer.Option("--speed", help="Time factor for --pace original.")] = 1.0,
        stop_on_error: Annotated[
            bool, typer.Option("--stop-on-error", help="Stop at the first ERROR or missing reply.")
        ] = False,
        check: Annotated[bool, typer.Option("--check", help="Compare replies with the recorded ones.")] = False,
        ignore: Annotated[
            list[str] | None,
            typer.Option("--ignore", help="With --check: leave this reply path out (repeatable; '*.updatedAt').",
                         metavar="PATH", show_default=False),
        ] = None,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each reply.")] = 10.0,
        token: TokenOpt = None,
        header: HeaderOpt = None,
        profile: ProfileOpt = None,
        read_only: Annotated[
            bool, typer.Option("--read-only", help="In the TUI with --to: refuse to send MUTATION frames.")
        ] = False,
        doctor: Annotated[bool, typer.Option("--doctor", help="Check the traffic; print the findings.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="With --doctor: a JSON array of findings.")] = False,
        fail_on: Annotated[
            FailOn | None, typer.Option("--fail-on", help="With --doctor: exit 1 when a finding is this severe.",
                                        show_default=False)
        ] = None,
        threshold: Annotated[
            list[str] | None, typer.Option("--threshold", help="With --doctor: NAME=VALUE, e.g. slow_ms=500 "
                                           "(repeatable).", metavar="NAME=VALUE", show_default=False)
        ] = None,
    ) -> None:
        flt = filter_option(filter_expr)
        if speed <= 0:
            die("--speed must be positive", EXIT_USAGE)
        if ignore and not check:
            die("--ignore leaves paths out of --check's comparison; add --check", EXIT_USAGE)
        headless = print_ or stats or not sys.stdout.isatty()
        if to is not None and (headless or yes or check):
            rec = _open(files, False)
            opts = connection_options(to, token=token, headers=header, profile=profile)
            code = send(rec, opts.url, opts.headers, opts.redacted_url(), flt, yes, pace, speed,
                         stop_on_error, check, timeout, tuple(ignore or ()))
        elif doctor:
            code = _doctor(_open(files, False), flt, as_json, fail_on, doctor_thresholds(profile, threshold))
        elif as_json or fail_on or threshold:
            die("--json, --fail-on and --threshold go with --doctor", EXIT_USAGE)
        elif stats:
            code = _stats(_open(files, False), flt)
        elif headless:
            code = _print(_open(files, follow, index=follow), flt, fmt, follow)
        else:
            target = connection_options(to, token=token, headers=header, profile=profile) if to else None
            code = _tui(files, follow, filter_expr, target, read_only)
        raise typer.Exit(code)


def fast_print(args: list[str]) -> int | None:
    """The exit code of ``busconsole replay ARGS`` for the common headless shape, run without
    building the typer app (whose start-up would be most of a small file's replay); None when
    ARGS are anything else, and the typer command (the one place options are defined) runs.

    Only files, ``--print``, ``--filter``/``-f`` and ``--format`` (each once, a value not
    starting with ``-``) are taken, with --print given or stdout not a terminal; this is then
    the command's --print branch with every other option at its default.
    """
    parsed = _fast_args(args)
    if parsed is None:
        return None
    files, print_, filter_expr, fmt = parsed
    if not files or not (print_ or not sys.stdout.isatty()):
        return None
    try:
        flt = filter_option(filter_expr)  # before the files, as in the command
        return _print(_open(files, False, index=False), flt, fmt, False)
    except typer.Exit as exc:  # die(): the message is out, the code is the command's
        return exc.exit_code
    except KeyboardInterrupt:  # what click does for the typer command
        print("\nAborted!", file=sys.stderr)
        return 1


def _fast_args(args: list[str]) -> tuple[list[str], bool, str | None, Format] | None:
    """``(files, --print, --filter, --format)`` when ``args`` hold nothing else, else None."""
    files: list[str] = []
    seen: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-"):
            files.append(arg)
            continue
        name, eq, value = arg.partition("=")
        key = _FAST_OPTIONS.get(name if eq and name.startswith("--") else arg)
        if key is None or key in seen or (key == "print" and eq):
            return None
        if key != "print" and not eq:
            value = next(rest, "-")
            if value.startswith("-"):
                return None
        seen[key] = value
    try:
        fmt = Format(seen.get("format", Format.jsonl))
    except ValueError:
        return None
    return files, "print" in seen, seen.get("filter"), fmt


_FAST_OPTIONS = {"--print": "print", "--filter": "filter", "-f": "filter", "--format": "format"}


def _open(files: list[str], follow: bool, index: bool = True) -> Recording:
    """The recording, indexed in the background; not yet (``index=False``) for one pass."""
    from busconsole.recording.reader import RecordingError, open_recording

    try:
        return open_recording(files, follow=follow, start=index)
    except RecordingError as exc:
        die(str(exc), EXIT_UNREACHABLE)


def report_problems(rec: Recording) -> None:
    for problem in rec.problems[:20]:
        note(problem)
    if len(rec.problems) > 20:
        note(f"... and {len(rec.problems) - 20} more damaged lines")


# ---------------------------------------------------------------------- --print


def _print(rec: Recording, flt: Filter | None, fmt: Format, follow: bool) -> int:
    """Stream matching frames; recording lines go out as they are, without re-encoding.

    With a filter that has byte anchors, only lines holding one are read at all
    (``Recording.candidates``: one pass, straight from the file when it can; when
    following, ``Recording.search_lines`` over the index); each is then tested as a frame.
    """
    import signal
    import time

    from busconsole.facts import FrameFacts
    from busconsole.recording.format import encode, read_line

    out = sys.stdout.buffer
    pretty = _pretty_writer() if fmt is Format.pretty else None
    stop: list[int] = []
    if follow:
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    done = 0
    buf: list[bytes] = []
    root = flt.root if flt is not None else None
    anchors = root.anchor_sets() if root is not None else []
    binary = root is None or not root.needs_object()

    store: FileStore | None = None
    if flt is not None and flt.needs_pairing:  # judged as the TUI judges it: paired over the whole input
        from busconsole.store.file import load

        store = load(rec)
        root = None  # select() below has already decided

    def candidates() -> Iterator[tuple[bytes, CapturedFrame]]:
        if store is not None:
            assert flt is not None
            for i in flt.select(store, store.catch_up() if done else 0):
                yield rec.line(i), rec.frame(i)
            return
        if not follow:
            yield from rec.candidates(anchors, binary)
            return
        rec.wait()
        for i, line in rec.search_lines(anchors, done, binary):
            yield line, read_line(line) or rec.frame(i)

    try:
        while True:
            for line, frame in candidates():
                if root is not None and not root.matches(FrameFacts(frame, frame.seq)):
                    continue
                if pretty is not None:
                    pretty(frame)
                    continue
                buf.append(line + b"\n" if line.startswith(b'{"seq":') else encode(frame))
                if len(buf) >= 512:
                    out.write(b"".join(buf))
                    buf.clear()
            done = len(rec)
            out.write(b"".join(buf))
            buf.clear()
            out.flush()
            if not follow or stop:
                break
            time.sleep(0.2)
            rec.refresh()
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error
        return EXIT_OK
    finally:
        report_problems(rec)
        rec.close()
    return EXIT_OK


def _pretty_writer() -> Callable[[CapturedFrame], None]:
    from rich.console import Console

    from busconsole.render import pretty_line

    color = sys.stdout.isatty()
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True, force_terminal=color or None)
    return lambda frame: console.print(pretty_line(frame, color=color))


# ---------------------------------------------------------------------- --stats


def _stats(rec: Recording, flt: Filter | None) -> int:
    """Counts, span and latencies of the frames --filter picks, paired over the whole input first."""
    from busconsole.store.file import load
    from busconsole.summary import summarize

    store = load(rec)
    picked = range(len(store)) if flt is None else flt.select(store)
    sys.stdout.write("\n".join(summarize(store, picked).lines()) + "\n")
    report_problems(rec)
    rec.close()
    return EXIT_OK


# ---------------------------------------------------------------------- --doctor


def doctor_thresholds(profile: str | None, options: list[str] | None) -> Thresholds:
    """The doctor's thresholds: defaults, the profile's ``doctor`` table, then ``--threshold``."""
    from busconsole.config import ConfigError, load_config
    from busconsole.doctor import thresholds_from

    try:
        prof = load_config().profile(profile)
        return thresholds_from(prof.doctor if prof else None, options or ())
    except (ConfigError, ValueError) as exc:
        die(str(exc), EXIT_USAGE)


def print_doctor(report: Report, as_json: bool, fail_on: FailOn | None) -> int:
    """The report on stdout; the exit code --fail-on asks for."""
    from busconsole.doctor import reaches, text_lines, to_json

    if as_json:
        sys.stdout.buffer.write(to_json(report) + b"\n")
        sys.stdout.flush()
    else:
        sys.stdout.write("\n".join(text_lines(report)) + "\n")
    return EXIT_MISMATCH if fail_on is not None and reaches(report, fail_on.value) else EXIT_OK


def _doctor(rec: Recording, flt: Filter | None, as_json: bool, fail_on: FailOn | None,
            thresholds: Thresholds) -> int:
    """The findings over the frames --filter picks, paired over the whole input first (as --stats)."""
    from busconsole.doctor import diagnose
    from busconsole.store.file import load

    store = load(rec)
    picked = None if flt is None else flt.select(store)
    report = diagnose(store, picked, thresholds)
    report_problems(rec)
    rec.close()
    return print_doctor(report, as_json, fail_on)


# ---------------------------------------------------------------------- TUI


def _tui(
    files: list[str], follow: bool, filter_expr: str | None, target: ConnectOptions | None, read_only: bool
) -> int:
    from busconsole.tui.replay import run_replay

    return int(
        run_replay(
            [Path(f) for f in files],
            follow=follow,
            filter=filter_expr,
            to=target.url if target else None,
            read_only=read_only or bool(target and target.read_only),
            headers=target.headers if target else None,
        )
        or 0
    )


# ---------------------------------------------------------------------- --to
