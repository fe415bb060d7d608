"""The demo's session: a proxy tap in front of the store server, simulated frontends
connected through it, and busconsole's own client connected through it as well.

A plain client sees only its own requests and the broadcasts of its subscriptions, so a
demo on one shows a wall of STORE_UPDATEs. Through the tap the stream holds every
connection's QUERY, MUTATION, ERROR and CONSOLE_LOGS, paired per connection, while the
composer and the subscriptions panel still work: they go through busconsole's own client,
which connects first and so is always ``c1``; the frontends are ``c2``, ``c3``, …
"""

from __future__ import annotations

import asyncio
import contextlib

from busconsole.facts import FrameFacts
from busconsole.frames import IN, CapturedFrame
from busconsole.recording.redact import redacted_url
from busconsole.server.seed import KINDS
from busconsole.server.simulate import Pace, run_frontends
from busconsole.sessions.base import ClientActions
from busconsole.sessions.proxy import ProxySession
from busconsole.transport.client import BusClient
from busconsole.transport.state import ConnectFailed, ConnectionState

OWN_CONN = "c1"  # the tap numbers connections in arrival order and ours arrives first
CONNECT_TIMEOUT = 5.0  # seconds to wait for our own connection before the frontends start anyway


class DemoSession(ClientActions):
    """Everything of a demo but the server: the tap, ``frontends`` simulated tabs and our client."""

    def __init__(
        self,
        upstream: str,
        *,
        frontends: int = 3,
        subscribe: list[str] | tuple[str, ...] = (),
        record: bool = False,
        pace: Pace | None = None,
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.proxy = ProxySession(upstream, host=host, port=port, record_session=record, on_view=self._seen)
        self.store = self.proxy.store
        self.status = self.proxy.status  # the tap keeps frame counts and recording; we add the phase
        self.subscriptions: dict[str, int] = dict.fromkeys(subscribe, 0)
        self.read_only = False
        self.entity_hints = KINDS  # the demo's server is ours: its entities are known
        self.frontends = frontends
        self.conn = OWN_CONN
        self._upstream_shown = redacted_url(upstream)
        self._pace = pace
        self._seed = seed
        self._client: BusClient | None = None
        self._running = contextlib.AsyncExitStack()  # our client, while started
        self._frontends_task: asyncio.Task[None] | None = None
        self.title = self._title()

    def _title(self) -> str:
        tabs = f"{self.frontends} frontends" if self.frontends != 1 else "1 frontend"
        return f"demo · you are {self.conn}, {tabs} · proxy {self.proxy.tap.listen_spec} → {self._upstream_shown}"

    @property
    def url(self) -> str:
        """Where clients of the demo connect: the tap, not the server."""
        return f"ws://{self.proxy.tap.listen_spec}/store-debug"

    @property
    def recording(self) -> bool:
        return self.proxy.recording

    def set_recording(self, on: bool) -> None:
        self.proxy.set_recording(on)

    async def start(self) -> None:
        """Listen, connect our client (so it is ``c1``), then launch the frontends.

        Raises OSError when the tap cannot listen or the recording cannot be opened."""
        await self.proxy.start()
        self.title = self._title()
        client = await self._running.enter_async_context(
            BusClient(self.url, subscribe=list(self.subscriptions), on_state=self._on_state, conn=self.conn))
        self._client = client
        with contextlib.suppress(ConnectFailed):  # the status bar says why; the demo goes on
            await client.wait_connected(CONNECT_TIMEOUT)
        if self.frontends:
            self._frontends_task = asyncio.create_task(
                run_frontends(self.url, self.frontends, self._pace, self._seed), name="busconsole-demo-frontends"
            )

    async def stop(self) -> None:
        """Close our client, then the tap (which closes the frontends), then whatever is left."""
        with contextlib.suppress(Exception):  # the status bar already says what became of it
            await self._running.aclose()
        await self.proxy.stop()
        if self._frontends_task is not None:
            self._frontends_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._frontends_task
        self._frontends_task = None
        self.status.phase = "closed"

    # ------------------------------------------------------------------ callbacks

    def _seen(self, frame: CapturedFrame, facts: FrameFacts) -> None:
        """Count the updates our own subscriptions brought (the panel shows them)."""
        if frame.dir == IN and facts.conn == self.conn:
            self._count_update(facts)

    def _on_state(self, state: ConnectionState) -> None:
        st = self.status
        st.phase, st.attempt, st.retry_at = state.phase, state.attempt, state.retry_at
        if state.last_error:  # never wipe what the tap reported about the recording
            st.last_error = state.last_error
