"""The ``busconsole`` command: a typer app whose commands live one per module in ``commands/``.

Each command module imports its heavy dependencies (Textual, websockets) inside the
command function, so ``busconsole send`` starts fast.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import typer


def _click_exceptions() -> ModuleType:
    """Recent typer carries its own copy of click; older typer sits on top of click."""
    try:
        return importlib.import_module("typer._click.exceptions")
    except ModuleNotFoundError:  # pragma: no cover - older typer
        return importlib.import_module("click.exceptions")


# Bad usage exits 64 (EX_USAGE) everywhere, as the commands document; click's default of 2
# would collide with "timeout or connection failure" in `busconsole send`.
_click_exceptions().UsageError.exit_code = 64

COMMANDS = ("connect", "replay", "record", "tail", "send", "proxy", "serve", "demo")

app = typer.Typer(
    name="busconsole",
    help="A debugging console for the store-server event bus: live TUI, recording, replay, proxy.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name in COMMANDS:
    importlib.import_module(f"busconsole.commands.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point. ``busconsole [URL]`` is the same as ``busconsole connect [URL]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("--help", "-h")):
        args.insert(0, "connect")
    app(args=args, prog_name="busconsole")


if __name__ == "__main__":
    main()
