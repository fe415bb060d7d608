"""The proxy tap: frontends connect here, each gets its own connection to the store server,
and every message is forwarded unchanged while a copy goes to :class:`Capture`.

Byte fidelity: messages are forwarded as the payloads the protocol layer parses (text
as its bytes, undecoded, sent again as a text frame; binary as is), so compression or fragmentation
on either hop never changes what the other side reads. Per-message deflate is offered
upstream only when the frontend itself offered it.

The upstream connection is opened during the frontend's handshake, so the frontend gets
the subprotocol the server chose; a request that is not a valid upgrade never opens one,
and when the frontend's handshake fails anyway (it hangs up, times out, is refused) the
upstream is closed the moment its TCP connection goes. When the server cannot be reached the frontend is
still accepted, then closed with 1014 (bad gateway) and the reason, which a browser can
show; the proxy keeps listening.

Synthetic frames in the stream (``dir`` "in", ``conn`` the connection id):
``PROXY_OPEN`` {peer, path, subprotocol} and ``PROXY_CLOSE``
{by: client|upstream|proxy, code, reason, relayed: code sent to the other side}.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import InvalidStatus
from websockets.frames import CloseCode
from websockets.http11 import Request
from websockets.typing import Subprotocol

from busconsole.frames import IN, OUT
from busconsole.recording.redact import redacted_url
from busconsole.transport.direct import DirectClientConnection, DirectServerConnection
from busconsole.transport.proxy_capture import Capture
from busconsole.transport.proxy_relay import pump

MAX_SIZE = 100 * 2**20
PASSED_HEADERS = ("Authorization", "Cookie")
BAD_GATEWAY = CloseCode.BAD_GATEWAY  # 1014
# Close codes a peer may put on the wire (RFC 6455 §7.4, IANA registry); others are not relayed.
_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_listen(spec: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:3014`` for IPv6, ``:3014`` for loopback). Raises ValueError."""
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {spec!r}: expected HOST:PORT, e.g. 127.0.0.1:3014")
    return host.strip("[]") or "127.0.0.1", int(port)


def upstream_url(base: str, target: str) -> str:
    """The upstream URL for a frontend's request target: its own path and query string,
    or the upstream's when the frontend asked for the bare root ``/``."""
    t = urlsplit(target)
    if t.path in ("", "/") and not t.query:
        return base
    b = urlsplit(base)
    return urlunsplit((b.scheme, b.netloc, t.path, t.query, ""))


def _offered(request: Request, header: str) -> list[str]:
    return [v.strip() for value in request.headers.get_all(header) for v in value.split(",") if v.strip()]


def _valid_upgrade(request: Request) -> bool:
    """What websockets checks before accepting (RFC 6455 §4.2.1): worth checking before
    opening anything upstream, since websockets only refuses the handshake afterwards."""
    headers = request.headers
    if "upgrade" not in {t.lower() for t in _offered(request, "Connection")}:
        return False
    if [u.lower() for u in _offered(request, "Upgrade")] != ["websocket"]:
        return False
    if headers.get_all("Sec-WebSocket-Version") != ["13"]:
        return False
    keys = headers.get_all("Sec-WebSocket-Key")
    if len(keys) != 1:
        return False
    try:
        return len(base64.b64decode(keys[0].encode(), validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def _relayed_close(side: Connection, lost: str) -> tuple[int, str]:
    """The close code and reason to pass on when ``side`` closed: its own when it sent a
    sendable one, 1000 for a close without status, 1014 and ``lost`` when it just vanished."""
    rcvd = side.protocol.close_rcvd
    if rcvd is None:
        return BAD_GATEWAY, lost
    if rcvd.code in _SENDABLE or 3000 <= rcvd.code < 5000:
        return rcvd.code, rcvd.reason
    return 1000, rcvd.reason


def _reason(text: str) -> str:
    """A close reason must fit in 123 bytes of UTF-8."""
    return text.encode()[:123].decode("utf-8", "ignore")


@dataclass(slots=True)
class _Opening:
    conn: str
    url: str
    upstream: DirectClientConnection | None = None
    error: str | None = None


class ProxyTap:
    """Listens for frontends and relays each to its own upstream connection."""

    def __init__(
        self,
        upstream: str,
        capture: Capture,
        *,
        host: str = "127.0.0.1",
        port: int = 3014,
        max_size: int = MAX_SIZE,
        open_timeout: float = 5.0,
        close_timeout: float = 2.0,
    ) -> None:
        self.upstream = upstream
        self.capture = capture
        self.host = host
        self.port = port
        self.max_size = max_size
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.connections: dict[str, tuple[DirectServerConnection, DirectClientConnection]] = {}
        self.total = 0
        self._ids = itertools.count(1)
        self._opening: dict[ServerConnection, _Opening] = {}
        self._server: Server | None = None

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._open_upstream,
            select_subprotocol=self._select_subprotocol,
            max_size=self.max_size,
            close_timeout=self.close_timeout,
            server_header=None,
            create_connection=DirectServerConnection,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every frontend with 1001; their upstreams follow."""
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> ProxyTap:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def listen_spec(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    # ------------------------------------------------------------------ handshake

    async def _open_upstream(self, client: ServerConnection, request: Request) -> None:
        """Open the upstream connection before answering the frontend's handshake."""
        if not _valid_upgrade(request):
            return  # websockets answers 400/426 itself; nothing to open upstream
        opening = _Opening(f"c{next(self._ids)}", upstream_url(self.upstream, request.path))
        self._opening[client] = opening
        # However the handshake ends without reaching _handle (refused, timed out, hung up),
        # the frontend's TCP connection goes: the upstream goes with it, at once.
        client.connection_lost_waiter.add_done_callback(lambda _: self._drop_orphan(client))
        headers = [(name, v) for name in PASSED_HEADERS for v in request.headers.get_all(name)]
        offered_deflate = any(e.startswith("permessage-deflate") for e in _offered(request, "Sec-WebSocket-Extensions"))
        try:
            upstream = await connect(
                opening.url,
                additional_headers=headers,
                subprotocols=[Subprotocol(p) for p in _offered(request, "Sec-WebSocket-Protocol")] or None,
                origin=request.headers.get("Origin"),  # type: ignore[arg-type]
                user_agent_header=request.headers.get("User-Agent"),
                compression="deflate" if offered_deflate else None,
                max_size=self.max_size,
                open_timeout=self.open_timeout,
                close_timeout=self.close_timeout,
                create_connection=DirectClientConnection,
            )
            assert isinstance(upstream, DirectClientConnection)
            opening.upstream = upstream
            if self._opening.get(client) is not opening:  # the frontend left while we connected
                await upstream.close(1001, "frontend handshake failed")
                opening.upstream = None
        except InvalidStatus as exc:
            opening.error = f"upstream refused the handshake: HTTP {exc.response.status_code}"
        except Exception as exc:  # refused, timed out, bad URL, TLS: all the frontend's 1014
            opening.error = f"upstream unreachable: {exc or type(exc).__name__}"

    def _select_subprotocol(self, client: ServerConnection, offered: Any) -> Subprotocol | None:
        """The upstream's choice; when there is no upstream, the frontend's first offer, so
        its handshake succeeds and it can read the close reason."""
        opening = self._opening.get(client)
        if opening is not None and opening.upstream is not None:
            return opening.upstream.subprotocol
        return offered[0] if offered else None

    def _drop_orphan(self, client: ServerConnection) -> None:
        """The frontend's connection is gone before (or without) its handler: close its upstream."""
        opening = self._opening.pop(client, None)
        if opening is not None and opening.upstream is not None:
            asyncio.ensure_future(opening.upstream.close(1001, "frontend handshake failed"))

    # ------------------------------------------------------------------ relay

    async def _handle(self, client: ServerConnection) -> None:
        assert isinstance(client, DirectServerConnection)
        opening = self._opening.pop(client)
        conn, upstream = opening.conn, opening.upstream
        self.total += 1
        host, port = client.remote_address[:2]
        self.capture.event(
            conn,
            "PROXY_OPEN",
            peer=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            path=redacted_url(opening.url),
            subprotocol=client.subprotocol,
        )
        if upstream is None:
            reason = _reason(opening.error or "upstream unreachable")
            await client.close(BAD_GATEWAY, reason)
            self.capture.event(conn, "PROXY_CLOSE", by="proxy", code=BAD_GATEWAY, reason=reason, relayed=None)
            return
        self.connections[conn] = (client, upstream)
        try:
            await self._relay(conn, client, upstream)
        finally:
            del self.connections[conn]
            await upstream.close()

    async def _relay(self, conn: str, client: DirectServerConnection, upstream: DirectClientConnection) -> None:
        to_server = asyncio.create_task(pump(client, upstream, conn, OUT, self.capture.frame, self.capture.held))
        to_client = asyncio.create_task(pump(upstream, client, conn, IN, self.capture.frame, self.capture.held))
        try:
            done, _ = await asyncio.wait((to_server, to_client), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            to_server.cancel()
            to_client.cancel()
            raise
        # The side whose receive ended first closed the connection: pass its close on.
        client_first = to_server in done and to_server.result() == "src" or (
            to_client in done and to_client.result() == "dst"
        )
        closed: Connection
        other: Connection
        if client_first:
            # The proxy itself closed the frontend when it is shutting down.
            by = "proxy" if client.protocol.close_rcvd_then_sent is False else "client"
            closed, other, lost = client, upstream, "frontend connection lost"
        else:
            by = "upstream"
            closed, other, lost = upstream, client, "upstream connection lost"
        code, reason = _relayed_close(closed, lost)
        reason = _reason(reason)
        await other.close(code, reason)
        await asyncio.gather(to_server, to_client, return_exceptions=True)
        rcvd = closed.protocol.close_rcvd
        self.capture.event(
            conn,
            "PROXY_CLOSE",
            by=by,
            code=rcvd.code if rcvd is not None else 1006,
            reason=rcvd.reason if rcvd is not None else lost,
            relayed=code,
        )
