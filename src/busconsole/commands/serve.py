"""`busconsole serve`: the reference store server, for demos, tests and trying the console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from busconsole.commands.common import EXIT_USAGE, command_help, die, note

HELP = """Run the reference store server (SQLite) that speaks the bus protocol.

Listens on ws://HOST:PORT (any path, e.g. /store-debug) until SIGINT or SIGTERM.
stdout stays empty; the listening address and diagnostics go to stderr.

Exit codes: 0 stopped cleanly, 1 could not listen (port in use, ...), 64 bad usage.
"""

EXAMPLES = (
    'busconsole serve --seed-demo --simulate 3 --log-dir ./logs',
    'busconsole serve --db ./shared.db --redis redis://127.0.0.1:6379/0',
)


def register(app: typer.Typer) -> None:
    @app.command("serve", help=command_help(HELP, EXAMPLES))
    def serve(
        host: Annotated[str, typer.Option(help="Address to bind; keep it loopback unless you mean it.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.", min=0, max=65535)] = 3013,
        db: Annotated[
            str | None,
            typer.Option(help="SQLite file, or :memory: [default: store.db in the data dir]", show_default=False),
        ] = None,
        seed_demo: Annotated[bool, typer.Option("--seed-demo", help="Load the demo data set into an empty store.")] = False,
        simulate: Annotated[int, typer.Option(help="Run N simulated frontends against the server.", min=0, max=50)] = 0,
        compat: Annotated[
            str | None,
            typer.Option(help="'orchestrix': behave like the framework's server (no requestId on MUTATION_SUCCESS)."),
        ] = None,
        log_dir: Annotated[
            Path | None, typer.Option(help="Append CONSOLE_LOGS to console-logs-YYYY-MM-DD.jsonl here.")
        ] = None,
        redis: Annotated[
            str | None,
            typer.Option(help="Scale out: share --db with the other instances using this Redis "
                         "(redis://HOST:PORT/DB); mutations reach every instance's subscribers.",
                         show_default=False),
        ] = None,
    ) -> None:
        import asyncio
        import signal

        from busconsole import paths
        from busconsole.server.app import ReferenceServer
        from busconsole.server.runner import run_until_signalled

        if compat not in (None, "orchestrix"):
            die(f"--compat {compat!r}: the only mode is 'orchestrix'", EXIT_USAGE)
        if not _is_loopback(host):
            note(f"warning: --host {host} is not loopback; anyone who can reach it can read and change the store")
        database = db if db is not None else str(paths.ensure(paths.data_dir()) / "store.db")
        try:
            server = ReferenceServer(host, port, database, seed_demo, compat, log_dir, simulate, redis=redis)
        except ValueError as exc:
            die(f"--redis: {exc}", EXIT_USAGE)
        try:
            asyncio.run(run_until_signalled(server, signals=(signal.SIGINT, signal.SIGTERM), announce=note))
        except OSError as exc:
            die(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)
        except Exception as exc:  # noqa: BLE001 - redis' own errors: one line, no traceback
            if type(exc).__module__.startswith("redis"):
                die(f"--redis {redis}: {exc}", 1)
            raise


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
