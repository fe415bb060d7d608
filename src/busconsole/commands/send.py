"""`busconsole send`: one request, its correlated reply on stdout, the outcome in the exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from busconsole.commands.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    HeaderOpt,
    ProfileOpt,
    TokenOpt,
    command_help,
    connection_options,
    die,
)

HELP = (
    "Send one request and print the correlated reply as JSON on stdout.\n\n"
    "TYPE is QUERY, MUTATION, SUBSCRIBE, UNSUBSCRIBE or CONSOLE_LOGS (any case). URL may be left "
    "out to use the profile's. A QUERY payload is the Stellar query (kind defaults to ENTITY); a "
    "MUTATION payload is the record (UPDATE and DELETE need its id); a CONSOLE_LOGS payload is the "
    "list of messages. SUBSCRIBE prints the SUBSCRIPTION_DATA; UNSUBSCRIBE has no reply and exits "
    "once sent.\n\n"
    "--template NAME sends a saved or shipped template instead of TYPE/ENTITY/--payload. "
    "Placeholders such as {{now}}, {{iso}} and {{uuid}} expand at send time. --read-only (or a "
    "read-only profile) refuses MUTATION frames; a DELETE or a very large frame needs --yes.\n\n"
    "Exit codes: 0 success reply, 1 the server answered ERROR, 2 timeout or connection failure, "
    "64 bad usage or invalid payload (what and where on stderr)."
)


MAX_FRAME_BYTES = 100 * 2**20  # the largest frame the bus (and busconsole's client) accepts


def read_payload(text: str) -> Any:
    """``--payload`` as JSON, from the text itself, ``@file`` or ``@-`` (stdin)."""
    source = "--payload"
    if text.startswith("@"):
        name = text[1:]
        source = "stdin" if name == "-" else name
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read payload file {name!r}: {exc}") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{source}: JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def build_request(kind: str, entity: str | None, operation: str | None, payload: Any) -> dict[str, Any]:
    """The request frame, built strictly; raises ValueError (pydantic's names the field)."""
    from pydantic import ValidationError

    from busconsole import protocol
    from busconsole.compose.draft import query_with_kind

    k = kind.upper()
    if k not in protocol.REQUEST_TYPES:
        raise ValueError(f"TYPE {kind!r}: expected one of {', '.join(protocol.REQUEST_TYPES)}")
    if k != "CONSOLE_LOGS" and not entity:
        raise ValueError(f"{k} needs an ENTITY")
    if k == "MUTATION" and not operation:
        raise ValueError("MUTATION needs --operation (CREATE, UPDATE or DELETE)")
    if k == "QUERY":
        payload = query_with_kind(entity or "", payload)  # the composer's rule
    if k == "CONSOLE_LOGS" and isinstance(payload, dict) and "messages" in payload:
        payload = payload["messages"]
    if k in ("QUERY", "MUTATION") and payload is not None and not isinstance(payload, dict):
        raise ValueError(f"--payload: a {k} payload must be a JSON object")
    if k == "CONSOLE_LOGS" and not isinstance(payload, list):
        raise ValueError("--payload: CONSOLE_LOGS needs a JSON list of messages")
    try:
        return protocol.build(k, entity, operation=operation, payload=payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or k
        raise ValueError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None


def expanded(body: Any) -> Any:
    """``--payload`` with its ``{{now}}``/``{{uuid}}`` placeholders filled in."""
    from busconsole.compose.placeholders import expand_placeholders

    return expand_placeholders(body)


def template_frame(name: str, files: list[Path]) -> dict[str, Any]:
    """The frame a template sends now; its errors are ValueErrors that say which template."""
    from busconsole.compose.draft import resolve_template

    try:
        return resolve_template(name, files)
    except ValueError as exc:  # TemplateError and ComposeError are both ValueErrors
        raise ValueError(f"template {name!r}: {exc}") from None


async def exchange(url: str, headers: dict[str, str], frame: dict[str, Any], timeout: float) -> Any:
    """Connect once, send ``frame`` and return the reply (None for UNSUBSCRIBE)."""
    from busconsole.transport.client import BusClient

    async with BusClient(url, headers=headers, max_attempts=1, open_timeout=timeout, ping_interval=None) as client:
        await client.wait_connected(timeout)
        if frame["type"] == "UNSUBSCRIBE":
            await client.send(frame)
            return None
        return await client.request(frame, timeout)

EXAMPLES = (
    'busconsole send ws://localhost:3013/store-debug QUERY partner -d \'{"criteria": {"name": "telcobright"}}\'',
    'busconsole send ws://localhost:3013/store-debug MUTATION compute -o UPDATE -d \'{"id": 7, "status": "MAINTENANCE"}\'',
)


def register(app: typer.Typer) -> None:
    @app.command("send", help=command_help(HELP, EXAMPLES))
    def send(
        url: Annotated[str | None, typer.Argument(metavar="URL", help="ws:// URL (optional), then TYPE", show_default=False)] = None,
        kind: Annotated[str | None, typer.Argument(metavar="TYPE", show_default=False)] = None,
        entity: Annotated[str | None, typer.Argument(metavar="ENTITY", show_default=False)] = None,
        operation: Annotated[
            str | None, typer.Option("--operation", "-o", help="MUTATION operation: CREATE, UPDATE, DELETE.")
        ] = None,
        payload: Annotated[
            str | None, typer.Option("--payload", "-d", help="JSON, or @file, or @- for stdin.")
        ] = None,
        timeout: Annotated[float, typer.Option("--timeout", "-t", help="Seconds to connect and to wait.")] = 10.0,
        token: TokenOpt = None,
        header: HeaderOpt = None,
        profile: ProfileOpt = None,
        template: Annotated[
            str | None, typer.Option("--template", "-T", help="Send this named template (shipped or saved).")
        ] = None,
        template_file: Annotated[
            list[Path] | None, typer.Option("--templates", help="Extra TOML/JSON template file (repeatable).")
        ] = None,
        read_only: Annotated[bool, typer.Option("--read-only", help="Refuse MUTATION frames.")] = False,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm a DELETE or a large frame.")] = False,
    ) -> None:
        import asyncio

        import orjson

        from busconsole.compose.draft import Confirmation, Refusal, check_send
        from busconsole.transport.state import ClientClosed, ConnectFailed

        if url is not None and not url.startswith(("ws://", "wss://")):  # URL left out: the profile's
            url, kind, entity = None, url, kind
        if kind is None and template is None:
            die("missing TYPE (QUERY, MUTATION, SUBSCRIBE, UNSUBSCRIBE, CONSOLE_LOGS) or --template", EXIT_USAGE)
        opts = connection_options(url, token=token, headers=header, profile=profile)
        try:
            frame = (
                template_frame(template, template_file or [])
                if template is not None
                else build_request(kind or "", entity, operation, expanded(read_payload(payload)) if payload is not None else None)
            )
        except ValueError as exc:
            die(str(exc), EXIT_USAGE)
        try:
            size = len(orjson.dumps(frame))
        except TypeError as exc:  # orjson.JSONEncodeError: nested too deeply, or not JSON
            die(f"the request cannot be sent as JSON: {exc}", EXIT_USAGE)
        if size > MAX_FRAME_BYTES:
            die(f"the request is {size / 2**20:,.1f} MiB; the bus takes frames up to "
                f"{MAX_FRAME_BYTES // 2**20} MiB", EXIT_USAGE)
        verdict = check_send(frame, read_only=opts.read_only or read_only)
        if isinstance(verdict, Refusal):
            die(verdict.reason, EXIT_USAGE)
        if isinstance(verdict, Confirmation) and not yes:
            die(f"{verdict.prompt} (add --yes)", EXIT_USAGE)
        try:
            reply = asyncio.run(exchange(opts.url, opts.headers, frame, timeout))
        except ConnectFailed as exc:
            die(f"cannot connect to {opts.redacted_url()}: {exc}", EXIT_UNREACHABLE)
        except TimeoutError:
            die(f"no reply from {opts.redacted_url()} within {timeout:g} s", EXIT_UNREACHABLE)
        except ClientClosed:
            die(f"connection to {opts.redacted_url()} closed before the reply", EXIT_UNREACHABLE)
        if reply is None:
            raise typer.Exit(EXIT_OK)
        obj = opts.redactor().redact_obj(reply.obj)
        sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
        raise typer.Exit(EXIT_ERROR if reply.type == "ERROR" else EXIT_OK)
