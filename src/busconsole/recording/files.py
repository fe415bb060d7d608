"""Which files a replay reads: files with their rotated parts, folders at any depth, globs.

A rotated part joins its file only when it continues the same recording session, so parts
left over from an older recording never mix into a new one.
"""

from __future__ import annotations

import glob
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from busconsole.recording import detect
from busconsole.recording.errors import RecordingError
from busconsole.recording.format import is_header
from busconsole.recording.writer import part_path

SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")


def _files_under(folder: str) -> Iterator[str]:
    """Paths of the recording files under ``folder``, at any depth."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from _files_under(entry.path)
            elif entry.name.endswith(SUFFIXES) and entry.is_file():
                yield entry.path


def expand(specs: Sequence[str | Path], problems: list[str] | None = None) -> list[Path]:
    """Files named by ``specs``: files (with their rotated parts), folders (recursive), globs.

    A rotated part joins its file only when it continues the same session (see
    :func:`_continues`); a stale part of an older recording is left out and reported."""
    found: dict[Path, None] = {}
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            for name in sorted(_files_under(str(path)), key=lambda n: n.split(os.sep)):  # as Paths sort, cheaper
                found[Path(name)] = None
        elif path.is_file():
            found[path] = None
            n = 1
            prev = _head(path)
            while (part := part_path(path, n)).is_file():
                head = _head(part)
                if not _continues(prev, head, n):
                    if problems is not None:
                        problems.append(f"{part}: left out: a rotated part of another recording session")
                    break
                found[part] = None
                prev = head
                n += 1
        elif glob.has_magic(str(spec)):
            matches = sorted(Path(p) for p in glob.glob(str(spec), recursive=True))
            files = [p for p in matches if p.is_file()]
            if not files:
                raise RecordingError(f"{spec}: no file matches")
            found.update(dict.fromkeys(files))
        else:
            raise RecordingError(f"{spec}: no such file or folder")
    if not found:
        raise RecordingError("no recording files found in " + ", ".join(map(str, specs)))
    return list(found)


def _head(path: Path) -> dict[str, object] | None:
    """The recording header of ``path`` (first line, gzip or not), None when it has none."""
    import gzip

    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            first = f.readline(1 << 16)
    except (OSError, EOFError, zlib.error):
        return None
    obj = detect.parse_line(first.strip()) if first.startswith(b"{") else None
    return obj if obj is not None and is_header(obj) else None


def _continues(prev: dict[str, object] | None, head: dict[str, object] | None, n: int) -> bool:
    """Whether part ``n`` (header ``head``) continues the session of the part before (``prev``):
    the same ``session`` id when both carry one; for older files without it, a part header
    numbered ``n`` created no earlier than the part before."""
    if prev is None or head is None:
        return prev is None and head is None  # plain JSONL parts: nothing tells them apart
    if head.get("part") != n:
        return False
    if "session" in prev or "session" in head:
        return prev.get("session") == head.get("session")
    return str(head.get("created", "")) >= str(prev.get("created", ""))
