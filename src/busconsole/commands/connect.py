"""`busconsole connect [URL]` (also bare `busconsole [URL]`): the live TUI."""

from __future__ import annotations

from typing import Annotated

import typer

from busconsole.commands.common import (
    FilterOpt,
    HeaderOpt,
    ProfileOpt,
    ServerLogsOpt,
    SubscribeOpt,
    TokenOpt,
    UrlArg,
    command_help,
    connection_options,
    filter_option,
)

HELP = """Open the live console on a store server.

Frames stream in as they arrive; the session is recorded to the sessions folder
unless --no-record. Keys: ? help, / filter, enter detail, l console logs,
s subscriptions, c compose, q quit.

Exit codes: 0 quit normally; 64 bad usage (bad URL, header, profile or filter).
"""

EXAMPLES = (
    'busconsole connect ws://localhost:3013/store-debug -s partner -s compute',
    "busconsole connect --profile staging --read-only --filter 'type:MUTATION,ERROR'",
    'busconsole ws://localhost:3013/store-debug --server-logs ./debug-store',
)


def register(app: typer.Typer) -> None:
    @app.command("connect", help=command_help(HELP, EXAMPLES))
    def connect(
        url: UrlArg = None,
        token: TokenOpt = None,
        header: HeaderOpt = None,
        profile: ProfileOpt = None,
        subscribe: SubscribeOpt = None,
        filter_text: FilterOpt = None,
        server_logs: ServerLogsOpt = None,
        no_record: Annotated[bool, typer.Option("--no-record", help="Do not record this session.")] = False,
        read_only: Annotated[
            bool | None, typer.Option("--read-only", help="Refuse to send MUTATION frames.", show_default=False)
        ] = None,
    ) -> None:
        opts = connection_options(url, token=token, headers=header, profile=profile, subscribe=subscribe,
                                  read_only=read_only)
        filter_option(filter_text)  # a bad filter ends here, before the screen opens
        from busconsole.sessions.live import LiveSession
        from busconsole.tui.app import BusConsoleApp

        session = LiveSession(opts.url, headers=opts.headers, subscribe=opts.subscribe,
                              record=not no_record, read_only=opts.read_only, server_logs=server_logs)
        BusConsoleApp(session, filter_text=filter_text or "").run()
