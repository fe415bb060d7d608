"""Live sessions are recorded by default, so nothing a person saw is ever lost.

Each session goes to ``<state dir>/sessions/<UTC timestamp>.jsonl``; when the folder
grows past a byte budget the oldest sessions are deleted first (never the one being
written, whose name sorts last).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from busconsole import paths
from busconsole.recording.redact import Redactor
from busconsole.recording.writer import RecordingWriter

DEFAULT_BUDGET_BYTES = 1 << 30  # 1 GiB
BUDGET_ENV = "BUSCONSOLE_SESSIONS_MB"
_PATTERNS = ("*.jsonl", "*.jsonl.gz")


def budget_bytes() -> int:
    """The size budget: ``BUSCONSOLE_SESSIONS_MB`` when set, else 1 GiB."""
    value = os.environ.get(BUDGET_ENV)
    try:
        return int(float(value) * 1024 * 1024) if value else DEFAULT_BUDGET_BYTES
    except ValueError:
        return DEFAULT_BUDGET_BYTES


def session_files(folder: Path | None = None) -> list[Path]:
    """Recorded sessions, oldest first (names are timestamps, so name order is time order)."""
    folder = folder or paths.sessions_dir()
    if not folder.is_dir():
        return []
    return sorted({p for pat in _PATTERNS for p in folder.glob(pat)}, key=lambda p: p.name)


def prune_sessions(budget: int | None = None, folder: Path | None = None, keep: int = 1) -> list[Path]:
    """Delete the oldest sessions until the folder fits ``budget``; the newest ``keep`` stay."""
    budget = budget_bytes() if budget is None else budget
    files = session_files(folder)
    sizes = {p: p.stat().st_size for p in files}
    total = sum(sizes.values())
    removed: list[Path] = []
    for p in files[: max(0, len(files) - keep)]:
        if total <= budget:
            break
        p.unlink(missing_ok=True)
        total -= sizes[p]
        removed.append(p)
    return removed


def new_session_path(folder: Path | None = None) -> Path:
    folder = paths.ensure(folder or paths.sessions_dir())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return folder / f"{stamp}.jsonl"


def new_session_writer(
    source: str, redactor: Redactor | None = None, budget: int | None = None
) -> RecordingWriter:
    """A writer for a new live session; older sessions are pruned to the budget first."""
    path = new_session_path()
    prune_sessions(budget, path.parent, keep=0)
    return RecordingWriter(path, source, redactor=redactor if redactor is not None else Redactor())
