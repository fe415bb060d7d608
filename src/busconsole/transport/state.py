"""What a client's connection is doing, and why it is not connected, in words a person reads
on the status line: refused, DNS, TLS, an HTTP status, a close code."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from typing import Literal

from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
from websockets.frames import Close

Phase = Literal["connecting", "connected", "reconnecting", "failed", "closed"]
_RETRYABLE_HTTP = (408, 429)


class OfflineQueueFull(Exception):
    """A send while disconnected found the offline queue full; the frame was dropped."""


class ConnectFailed(Exception):
    """The client gave up connecting (attempts exhausted or a fatal error)."""


class ClientClosed(Exception):
    """The client was closed while the operation waited."""


@dataclass(slots=True)
class ConnectionState:
    """What a UI shows about the connection. Counters are live; on_state fires on the rest."""

    phase: Phase = "connecting"
    attempt: int = 0  # the current (connecting) or next (reconnecting) attempt; 0 once connected
    retry_at: float | None = None  # epoch seconds of the next attempt while reconnecting
    last_error: str = ""
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0  # sends lost to a full offline queue
    queued: int = 0  # sends waiting for the connection

    @property
    def retry_in(self) -> float | None:
        return None if self.retry_at is None else max(0.0, self.retry_at - time.time())


def describe(exc: BaseException) -> str:
    """A short, secret-free reason for a failed or lost connection."""
    if isinstance(exc, InvalidStatus):
        return f"server refused the handshake: HTTP {exc.response.status_code}"
    if isinstance(exc, ConnectionClosed):
        return closed_reason(exc.rcvd or exc.sent)
    if isinstance(exc, TimeoutError):
        return "timed out opening the connection"
    if isinstance(exc, InvalidURI):
        return "invalid URL"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {getattr(exc, 'reason', None) or exc}"
    if isinstance(exc, socket.gaierror):
        return f"DNS: cannot resolve the host ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def closed_reason(frame: Close | None) -> str:
    if frame is None:
        return "connection lost"
    return f"connection closed ({frame.code}{' ' + frame.reason if frame.reason else ''})"


def is_fatal(exc: BaseException) -> bool:
    if isinstance(exc, InvalidURI):
        return True
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        return 400 <= status < 500 and status not in _RETRYABLE_HTTP
    return False
