"""`busconsole demo`: the reference server, simulated frontends and the TUI on it, in one command."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

HELP = """Start a demo store server with simulated frontends on 127.0.0.1 and open the console on it.

The server listens on 127.0.0.1:3013 when that port is free, else on a free port;
its database and logs live in a temporary folder removed on quit. Quitting the
console stops everything.

Exit codes: 0 quit normally; 1 the demo server could not start.
"""
DEMO_PORT = 3013
DEMO_SUBSCRIPTIONS = ("partner", "compute", "datacenter", "networkdevice")


def demo_port(preferred: int = DEMO_PORT) -> int:
    """``preferred`` when nothing listens there, else 0 (the server picks a free port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return 0
    return preferred


def register(app: typer.Typer) -> None:
    @app.command("demo", help=HELP)
    def demo(
        frontends: Annotated[int, typer.Option("--frontends", help="Simulated frontends.", min=0, max=50)] = 3,
        record: Annotated[bool, typer.Option("--record/--no-record", help="Record the demo session.")] = False,
    ) -> None:
        import tempfile
        from pathlib import Path

        from busconsole.commands.common import note
        from busconsole.server.runner import ServerThread
        from busconsole.session import LiveSession
        from busconsole.tui.app import BusConsoleApp

        with tempfile.TemporaryDirectory(prefix="busconsole-demo-") as tmp:
            server = ServerThread(port=demo_port(), db=Path(tmp) / "demo.sqlite", seed_demo=True,
                                  log_dir=Path(tmp) / "logs", simulate=frontends)
            try:
                server.start()
            except Exception as exc:  # noqa: BLE001 - any start failure ends the demo with its reason
                note(f"error: the demo server could not start: {exc}")
                raise typer.Exit(1) from exc
            try:
                session = LiveSession(server.url, subscribe=DEMO_SUBSCRIPTIONS, record=record)
                BusConsoleApp(session).run()
            finally:
                server.close()
