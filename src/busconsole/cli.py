"""The ``busconsole`` command: a typer app whose commands live one per module in ``commands/``.

Each command module imports its heavy dependencies (Textual, websockets) inside the
command function, so ``busconsole send`` starts fast. The app itself is built on first
use (``app`` below, or :func:`main`): building it costs typer's parameter adapters for
every command, which ``busconsole replay FILE --print`` skips (see
:func:`busconsole.commands.replay.fast_print`).

``busconsole --help`` and ``busconsole COMMAND --help`` are answered from a cache of
typer's own output when it has one for the same circumstances (see :func:`help_key`):
the first time, typer renders the help (pydantic, Rich and every command module:
about half a second) and its output is kept; every later time it is written back
without importing typer or Rich. ``BUSCONSOLE_HELP_CACHE=0`` always goes through typer.
"""

from __future__ import annotations

import importlib
import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing is a fifth of a cached --help
if TYPE_CHECKING:
    from types import ModuleType
    from typing import TextIO

    import typer

COMMANDS = ("connect", "replay", "record", "tail", "send", "proxy", "serve", "demo")


def _click_exceptions() -> ModuleType:
    """Recent typer carries its own copy of click; older typer sits on top of click."""
    try:
        return importlib.import_module("typer._click.exceptions")
    except ModuleNotFoundError:  # pragma: no cover - older typer
        return importlib.import_module("click.exceptions")


_app: list[typer.Typer] = []


def build_app() -> typer.Typer:
    """The typer app with every command (built once)."""
    if _app:
        return _app[0]
    import typer

    # Bad usage exits 64 (EX_USAGE) everywhere, as the commands document; click's default of 2
    # would collide with "timeout or connection failure" in `busconsole send`.
    _click_exceptions().UsageError.exit_code = 64
    app = typer.Typer(
        name="busconsole",
        help="A debugging console for the store-server event bus: live TUI, recording, replay, proxy.",
        no_args_is_help=False,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in COMMANDS:
        importlib.import_module(f"busconsole.commands.{name}").register(app)
    _plain_flags()
    _app.append(app)
    return app


def _plain_flags() -> None:
    """Help's type column says what a value is only where a name does not: on/off options take
    no value (no ``<bool>``), and arguments are named in capitals already (no ``<str>``,
    ``<list[str]>``). Typer has no setting for it, so its parameter classes are taught once."""
    from typer.core import TyperArgument, TyperOption

    option_type = TyperOption.display_type_rich
    if getattr(option_type, "_plain", False):
        return

    def option_display(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag and self.metavar is None else option_type(self, ctx)  # type: ignore[arg-type]

    def argument_display(self: TyperArgument, ctx: object) -> str | None:
        return None

    option_display._plain = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = option_display  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_display  # type: ignore[method-assign,assignment]


def __getattr__(name: str) -> typer.Typer:
    """``from busconsole.cli import app`` builds the app then."""
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------- the help cache

HELP_CACHE_ENV = "BUSCONSOLE_HELP_CACHE"  # "0": never use or fill the cache
HELP_CACHE_FILES = 256  # entries kept (one per command, width, terminal or not, ...); the oldest go
# What typer, click and Rich read from the environment when they render help, by name or prefix.
# (BUSCONSOLE_TOKEN and the like are not: help shows their names, never their values.)
_HELP_ENV_NAMES = ("TERM", "COLORTERM", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "PY_COLORS",
                   "GITHUB_ACTIONS", "TERMINAL_WIDTH", "DATABRICKS_RUNTIME_VERSION", "LANG", "LANGUAGE")
_HELP_ENV_PREFIXES = ("TYPER_", "_TYPER", "TTY_", "JUPYTER_", "LC_", "PYDANTIC_", "_BUSCONSOLE")


def is_help_request(args: list[str]) -> bool:
    """``--help`` for the app or for one command, and nothing else (anything else goes to typer)."""
    return args == ["--help"] or (len(args) == 2 and args[1] == "--help" and args[0] in COMMANDS)


def _terminal_size() -> tuple[int, int] | None:
    """What Rich takes for the terminal: the first of stdin, stdout, stderr that is one."""
    for fd in (0, 1, 2):
        try:
            return tuple(os.get_terminal_size(fd))  # type: ignore[return-value]
        except (AttributeError, ValueError, OSError):
            continue
    return None


def _source_stamp() -> list[str]:
    """Size and mtime of every module of busconsole, and which packages are installed beside
    typer (their .dist-info names carry the versions): a change to any of them is a new key."""
    stamp: list[str] = []
    root = os.path.dirname(os.path.abspath(__file__))
    todo = [root]
    while todo:
        folder = todo.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    todo.append(entry.path)
                elif entry.name.endswith(".py"):
                    st = entry.stat()
                    stamp.append(f"{entry.path[len(root):]}:{st.st_size}:{st.st_mtime_ns}")
    for folder in sys.path:
        if os.path.isfile(os.path.join(folder or ".", "typer", "__init__.py")):
            stamp.extend(sorted(n for n in os.listdir(folder or ".") if n.endswith((".dist-info", ".egg-info"))))
            break
    return stamp


def help_key(args: list[str], stdout: TextIO) -> str:
    """Everything typer's help output depends on, as one string: the arguments, the code of
    busconsole and the installed packages, the Python, whether stdout is a terminal and its
    encoding, the terminal's size and the environment variables typer, click and Rich read."""
    env = sorted((k, v) for k, v in os.environ.items()
                 if k in _HELP_ENV_NAMES or k.startswith(_HELP_ENV_PREFIXES))
    isatty = stdout.isatty()
    parts = [
        "busconsole help v1", repr(args), sys.version, sys.executable, repr(sys.flags), repr(sys.path),
        f"tty={isatty} encoding={stdout.encoding} errors={getattr(stdout, 'errors', None)}",
        f"stdin={type(sys.stdin).__module__} size={_terminal_size()}", repr(env), *_source_stamp(),
    ]
    return "\n".join(parts)


def _help_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "busconsole", "help")


def _help_cache_path(key: str) -> str:
    import zlib

    data = key.encode("utf-8", "surrogateescape")
    return os.path.join(_help_cache_dir(), f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}.txt")


def cached_help(key: str) -> str | None:
    """The help typer wrote under ``key`` (the key is kept in the file and compared whole)."""
    try:
        with open(_help_cache_path(key), encoding="utf-8", errors="surrogateescape", newline="") as f:
            stored = f.read()
    except OSError:
        return None
    head, sep, text = stored.partition("\0")
    return text if sep and head == key else None


def _store_help(key: str, text: str) -> None:
    """Keep ``text`` under ``key``; a cache that cannot be written is no cache, not an error."""
    folder = _help_cache_dir()
    path = _help_cache_path(key)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(f"{key}\0{text}")
        os.replace(tmp, path)
        entries = [e for e in os.scandir(folder) if e.name.endswith(".txt")]
        if len(entries) > HELP_CACHE_FILES:
            entries.sort(key=lambda e: e.stat().st_mtime)
            for old in entries[: len(entries) - HELP_CACHE_FILES]:
                os.unlink(old.path)
    except OSError:
        pass


class _Capture:
    """A stand-in for sys.stdout or sys.stderr that passes writes on and remembers them."""

    def __init__(self, real: TextIO) -> None:
        self.real = real
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        written = self.real.write(text)  # click probes with b"" (a TypeError) for a binary stream
        self.parts.append(text)
        return written

    def __getattr__(self, name: str) -> object:  # isatty, fileno, encoding, flush, ...
        return getattr(self.real, name)


def print_help(args: list[str]) -> int:
    """Write the help ``args`` ask for (see :func:`is_help_request`); return the exit code."""
    use_cache = os.environ.get(HELP_CACHE_ENV, "1") != "0"
    key = help_key(args, sys.stdout) if use_cache else ""
    text = cached_help(key) if use_cache else None
    if text is not None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:  # as Rich does when the reader went away
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        return 0
    out, err = _Capture(sys.stdout), _Capture(sys.stderr)
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    code: object = 0
    try:
        build_app()(args=args, prog_name="busconsole")
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdout, sys.stderr = out.real, err.real
    if use_cache and code in (0, None) and out.parts and not err.parts:
        _store_help(key, "".join(out.parts))
    return code if isinstance(code, int) else (0 if code is None else 1)


def main(argv: list[str] | None = None) -> None:
    """Entry point. ``busconsole [URL]`` is the same as ``busconsole connect [URL]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("--help", "-h")):
        args.insert(0, "connect")
    if is_help_request(args):
        sys.exit(print_help(args))
    if args[0] == "tail":
        from busconsole.commands.tail import fast_run as fast_tail

        code = fast_tail(args[1:])
        if code is not None:
            sys.exit(code)
    if args[0] == "replay":
        from busconsole.commands.replay import fast_print

        code = fast_print(args[1:])
        if code is not None:
            sys.exit(code)
    build_app()(args=args, prog_name="busconsole")


if __name__ == "__main__":
    main()
