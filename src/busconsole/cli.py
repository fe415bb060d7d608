"""The ``busconsole`` command: a typer app whose commands live one per module in ``commands/``.

Each command module imports its heavy dependencies (Textual, websockets) inside the
command function, so ``busconsole send`` starts fast. The app itself is built on first
use (``app`` below, or :func:`main`): building it costs typer's parameter adapters for
every command, which ``busconsole replay FILE --print`` skips (see
:func:`busconsole.commands.replay.fast_print`).
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

COMMANDS = ("connect", "replay", "record", "tail", "send", "proxy", "serve", "demo")


def _click_exceptions() -> ModuleType:
    """Recent typer carries its own copy of click; older typer sits on top of click."""
    try:
        return importlib.import_module("typer._click.exceptions")
    except ModuleNotFoundError:  # pragma: no cover - older typer
        return importlib.import_module("click.exceptions")


@cache
def build_app() -> typer.Typer:
    """The typer app with every command (built once)."""
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
    return app


def __getattr__(name: str) -> typer.Typer:
    """``from busconsole.cli import app`` builds the app then."""
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Entry point. ``busconsole [URL]`` is the same as ``busconsole connect [URL]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("--help", "-h")):
        args.insert(0, "connect")
    if args[0] == "replay":
        from busconsole.commands.replay import fast_print

        code = fast_print(args[1:])
        if code is not None:
            sys.exit(code)
    build_app()(args=args, prog_name="busconsole")


if __name__ == "__main__":
    main()
