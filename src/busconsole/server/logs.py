"""CONSOLE_LOGS persistence: one console message per line in ``console-logs-YYYY-MM-DD.jsonl``.

The line format is the one the framework's store server writes (timestamp,
isoTimestamp, level, message, args, source, sessionId, stackTrace), so busconsole
opens our files and the real ones the same way. Frontends log whatever they like,
tokens included, so lines are redacted (the recording's rules) and files are
created owner-only.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from busconsole.recording.redact import Redactor
from busconsole.wire import now_ms

_REDACT = Redactor()


def normalise(message: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    """One message with the fields every line has; unknown fields are kept as sent."""
    msg = dict(message) if isinstance(message, dict) else {"message": str(message), "args": [message]}
    ts = msg.get("timestamp")
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        ts = now_ms()
    line: dict[str, Any] = {
        "timestamp": ts,
        "isoTimestamp": msg.get("isoTimestamp") or iso(ts),
        "level": msg.get("level") or "log",
        "message": msg.get("message", ""),
        "args": msg.get("args", []),
        "source": msg.get("source") or metadata.get("source") or "frontend",
    }
    session = msg.get("sessionId") or metadata.get("sessionId")
    if session:
        line["sessionId"] = session
    for key, value in msg.items():
        line.setdefault(key, value)
    return line


def iso(ms: float) -> str:
    """``2025-09-20T11:21:09.937Z``, the JavaScript ``toISOString`` form."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def log_path(log_dir: Path, at_ms: float | None = None) -> Path:
    day = datetime.fromtimestamp((at_ms if at_ms is not None else now_ms()) / 1000, UTC)
    return log_dir / f"console-logs-{day:%Y-%m-%d}.jsonl"


def append(log_dir: Path, lines: list[dict[str, Any]]) -> Path:
    """Append the lines, redacted, to today's file (created 0600) and return its path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_path(log_dir)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as fh:
        fh.write(b"".join(orjson.dumps(_REDACT.redact_obj(line)) + b"\n" for line in lines))
    return path
