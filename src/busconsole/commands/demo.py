"""`busconsole demo`: the one-command tour.

A store server with demo data, a proxy tap in front of it, simulated frontends talking
through the tap and the console on the tap: the stream shows every connection's
requests, replies, errors and console logs, as support staff would see a real system,
and the composer still sends (as connection c1).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from busconsole.commands.common import command_help

if TYPE_CHECKING:
    from busconsole.sessions.demo import DemoSession
    from busconsole.tui.app import BusConsoleApp

HELP = """Start a demo store server with simulated frontends on 127.0.0.1 and open the console on it.

The frontends connect through a proxy tap, so the console shows every connection's
traffic: c1 is the console itself (compose with c, subscribe with s), c2, c3, … are the
frontends with their queries, mutations (some failing), errors and console logs (l).

The server listens on 127.0.0.1:3013 and the proxy on 127.0.0.1:3014 when those ports
are free, else on free ports; point your own client at the proxy to join in. The
server's database and logs live in a temporary folder removed on quit. Quitting the
console (q) stops everything.

Exit codes: 0 quit normally; 1 the demo server, the proxy or the console failed to start.
"""
DEMO_PORT = 3013
DEMO_PROXY_PORT = 3014
DEMO_SUBSCRIPTIONS = ("compute", "partner", "datacenter")
DEMO_THINK = (0.8, 2.0)  # seconds between a frontend's actions: lively, still readable
WELCOME = (
    "c2, c3, … are simulated frontends seen through a proxy; c1 is you.\n"
    "Try: ⏎ detail (] next tab) · l console logs · / filter, e.g. conn:c2 or type:error "
    "· 3 hide updates · n next error · c compose · s subscriptions · ? help · q quit"
)


def demo_port(preferred: int = DEMO_PORT) -> int:
    """``preferred`` when nothing listens there, else a free port: either way a real number,
    so the console's title names where to connect from the start."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

EXAMPLES = (
    'busconsole demo',
    'busconsole demo --frontends 5 --no-record',
)


def register(app: typer.Typer) -> None:
    @app.command("demo", help=command_help(HELP, EXAMPLES))
    def demo(
        frontends: Annotated[int, typer.Option("--frontends", help="Simulated frontends.", min=0, max=50)] = 3,
        record: Annotated[
            bool, typer.Option("--record/--no-record", help="Record the demo session (as connect does).")
        ] = True,
    ) -> None:
        import tempfile
        from pathlib import Path

        from busconsole.commands.common import note
        from busconsole.server.app import ReferenceServer
        from busconsole.server.runner import ServerThread
        from busconsole.server.simulate import Pace
        from busconsole.sessions.demo import DemoSession

        with tempfile.TemporaryDirectory(prefix="busconsole-demo-") as tmp:
            data = Path(tmp)
            server = ServerThread(ReferenceServer(port=demo_port(), db=data / "demo.sqlite", seed_demo=True,
                                                  log_dir=data / "logs"))
            try:
                server.start()
            except Exception as exc:  # noqa: BLE001 - any start failure ends the demo with its reason
                note(f"error: the demo server could not start: {exc}")
                raise typer.Exit(1) from exc
            try:
                session = DemoSession(server.url, frontends=frontends, subscribe=DEMO_SUBSCRIPTIONS,
                                      record=record, pace=Pace(think=DEMO_THINK), port=demo_port(DEMO_PROXY_PORT))
                app = demo_app(session)
                with _exit_on_sigterm(app):
                    app.run()
            finally:
                server.close()
        if session.status.recording_path is not None:
            note(f"demo recorded to {session.status.recording_path}")
        raise typer.Exit(app.return_code or 0)


@contextlib.contextmanager
def _exit_on_sigterm(app: BusConsoleApp) -> Iterator[None]:
    """SIGTERM quits the console as `q` does, so the temporary folder (database, logs) is
    removed and the terminal restored; Python's default would end the process on the spot."""
    import signal

    def on_term(signum: int, frame: object) -> None:
        app.call_later(app.exit)

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def demo_app(session: DemoSession) -> BusConsoleApp:
    """The console on the demo session, greeting a first-time user with what to try."""
    import inspect
    from pathlib import Path

    from busconsole.tui.app import BusConsoleApp

    class DemoApp(BusConsoleApp):
        # Textual resolves a relative CSS_PATH beside the subclass: point at the app's own file.
        CSS_PATH = str(Path(inspect.getfile(BusConsoleApp)).with_name(str(BusConsoleApp.CSS_PATH)))

        def on_ready(self) -> None:
            self.notify(WELCOME, title="busconsole demo", timeout=8)  # it covers rows: read, then gone

    return DemoApp(session)
