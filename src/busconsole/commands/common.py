"""Options shared by the commands that connect (connect, record, proxy, tail, send).

Each command declares its parameters with the ``Annotated`` aliases below, then
turns them into one :class:`ConnectOptions` with :func:`connection_options`, which
applies the profile first and the explicit options over it. Secrets stay inside
``ConnectOptions``: anything shown to a person goes through :meth:`ConnectOptions.
redacted_url` / :meth:`ConnectOptions.redacted_headers`. Bad usage of any kind (config,
option, ``--filter``) ends a command the same way: a stderr line and exit 64.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, ParamSpec, TypeVar

import typer

from busconsole.recording.redact import Redactor, redacted_headers, redacted_url

if TYPE_CHECKING:
    from busconsole.filtering import Filter

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_URL = "ws://localhost:3013/store-debug"

EXIT_OK = 0
EXIT_ERROR = 1  # the server answered with an ERROR
EXIT_UNREACHABLE = 2  # timeout or connection failure
EXIT_USAGE = 64  # bad usage, bad payload, bad filter, bad config (EX_USAGE)

UrlArg = Annotated[
    str | None,
    typer.Argument(
        help=f"Store server WebSocket URL (default: the profile's url, else {DEFAULT_URL}).",
        metavar="URL",
        show_default=False,
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="BUSCONSOLE_TOKEN",
        help="Bearer token sent as 'Authorization: Bearer …'; never printed or recorded.",
        metavar="TOKEN",
        show_default=False,
    ),
]
HeaderOpt = Annotated[
    list[str] | None,
    typer.Option("--header", "-H", help="Extra handshake header 'Name: value' (repeatable).", metavar="HEADER",
                 show_default=False),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        envvar="BUSCONSOLE_PROFILE",
        help="Profile from config.toml (default: the file's default_profile).",
        metavar="NAME",
        show_default=False,
    ),
]
SubscribeOpt = Annotated[
    list[str] | None,
    typer.Option("--subscribe", "-s", help="Subscribe to ENTITY (repeatable); replaces the profile's list.",
                 metavar="ENTITY", show_default=False),
]
ServerLogsOpt = Annotated[
    Path | None,
    typer.Option("--server-logs", help="Also follow the store server's log folder DIR: the frontends' console "
                 "logs without a proxy.", metavar="DIR", show_default=False),
]
FilterOpt = Annotated[
    str | None,
    typer.Option("--filter", "-f", help="Only frames matching EXPR (the filter language).", metavar="EXPR",
                 show_default=False),
]


def command_help(text: str, examples: tuple[str, ...] = ()) -> str:
    """A command's help as typer shows it well: each paragraph one line (the terminal wraps it,
    never mid-sentence at 80 columns), indented lines kept as they are, then the examples."""
    paragraphs = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if all(line.startswith(" ") for line in lines):
            paragraphs.append("\n".join(lines))
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    if examples:
        paragraphs.append("Examples:\n" + "\n".join(f"  {e}" for e in examples))
    return "\n\n".join(paragraphs)


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """Everything needed to open a connection, after profile and options are merged."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    subscribe: tuple[str, ...] = ()
    read_only: bool = False
    redact: tuple[str, ...] = ()
    profile: str | None = None

    def redacted_url(self) -> str:
        return redacted_url(self.url)

    def redacted_headers(self) -> dict[str, str]:
        return redacted_headers(self.headers)

    def redactor(self) -> Redactor:
        """The default secret rules plus the profile's ``redact`` list."""
        return Redactor(self.redact)


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c.isspace() for c in name):
        raise ValueError(f"--header {text!r}: expected 'Name: value'")
    return name, value.strip()


def resolve(
    url: str | None = None,
    *,
    token: str | None = None,
    headers: list[str] | None = None,
    profile: str | None = None,
    subscribe: list[str] | None = None,
    read_only: bool | None = None,
) -> ConnectOptions:
    """Merge the profile and the options; options win. Raises ConfigError or ValueError."""
    from busconsole.config import load_config

    prof = load_config().profile(profile)
    merged = dict(prof.headers) if prof else {}
    for text in headers or ():
        name, value = parse_header(text)
        merged[name] = value
    if token is None and prof is not None and prof.token_env:
        token = os.environ.get(prof.token_env) or None
    if token:
        merged = {k: v for k, v in merged.items() if k.lower() != "authorization"}
        merged["Authorization"] = f"Bearer {token}"
    final_url = url or (prof.url if prof else None) or DEFAULT_URL
    if not final_url.startswith(("ws://", "wss://")):
        raise ValueError(f"URL {redacted_url(final_url)!r}: expected ws:// or wss://")
    return ConnectOptions(
        url=final_url,
        headers=merged,
        subscribe=tuple(subscribe) if subscribe else (prof.subscribe if prof else ()),
        read_only=read_only if read_only is not None else (prof.read_only if prof else False),
        redact=prof.redact if prof else (),
        profile=prof.name if prof else None,
    )


def _exit_on_usage_error(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` for a command: a ConfigError or ValueError ends it with exit 64 and the message."""

    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        from busconsole.config import ConfigError

        try:
            return fn(*args, **kwargs)
        except (ConfigError, ValueError) as exc:
            die(str(exc), EXIT_USAGE)

    return checked


connection_options = _exit_on_usage_error(resolve)  # resolve() as a command wants it


def filter_option(text: str | None) -> Filter | None:
    """``--filter`` parsed (None when not given); a bad one ends the command with exit 64."""
    if not text:
        return None
    from busconsole.filtering import FilterError, parse_filter

    try:
        return parse_filter(text)
    except FilterError as exc:
        die(f"--filter: {exc}", EXIT_USAGE)


def note(message: str) -> None:
    """A diagnostic line: stderr, never stdout, which carries only data.

    Control characters (a server's close reason may carry escape sequences) are shown as
    escapes, never sent to the terminal.
    """
    from busconsole.terminal import safe_text

    print(f"busconsole: {safe_text(message, newlines=True)}", file=sys.stderr, flush=True)


def die(message: str, code: int) -> NoReturn:
    note(f"error: {message}")
    raise typer.Exit(code)
