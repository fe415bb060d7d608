"""Whole lines out of file blocks: reading up to a line end, splitting, finding the lines that
hold a needle, and a file's time range from its first and last lines."""

from __future__ import annotations

import os
from collections.abc import Iterator

from busconsole.filtering.nodes import Anchors
from busconsole.recording import detect

CHUNK = 4 << 20  # bytes read at once when a block is not given


def edges(head: bytes, tail: bytes) -> tuple[float | None, float | None]:
    """Times of the first line of ``head`` and the last of ``tail`` that have one."""
    first = next((t for t in map(detect.line_time, lines(head)) if t is not None), None)
    last = next((t for t in map(detect.line_time, reversed(lines(tail))) if t is not None), None)
    return first, last


def hits(
    data: bytes, cut: int, origin: int, needles: Anchors, also: bytes | None
) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` of the lines of ``data[:cut]`` (whole lines, starting at file offset
    ``origin``) holding a needle; only the lines hit cost Python work."""
    low = data.lower()
    marked = (*needles, also) if also is not None and also in low else needles
    spans: list[tuple[int, int]] = []
    for needle in marked:
        find = low.find
        at = find(needle, 0, cut)
        while at >= 0:
            start = low.rfind(b"\n", 0, at) + 1
            end = low.find(b"\n", at, cut)
            spans.append((start, end))
            at = find(needle, end + 1, cut)
    if len(marked) > 1:
        spans = sorted(set(spans))
    for start, end in spans:
        yield origin + start, data[start:end].strip()


def whole_lines(fd: int, pos: int, size: int, chunk: int | None = None) -> tuple[bytes, int]:
    """``(block, cut)``: bytes read from ``pos``; ``cut`` is just past their last newline (0: none
    before the end of the file). Reads past the chunk (CHUNK) only for a line longer than that."""
    chunk = CHUNK if chunk is None else chunk
    block = os.pread(fd, min(chunk, size - pos), pos)
    cut = block.rfind(b"\n") + 1
    if cut:
        return block, cut
    pieces, end = [block], pos + len(block)
    while end < size:
        piece = os.pread(fd, min(chunk, size - end), end)
        if not piece:
            break
        pieces.append(piece)
        end += len(piece)
        if b"\n" in piece:
            block = b"".join(pieces)
            return block, block.rfind(b"\n") + 1
    return block, 0


def lines(block: bytes) -> list[bytes]:
    return [s for s in (x.strip() for x in block.split(b"\n")) if s[:1] == b"{" and s[-1:] == b"}"]
