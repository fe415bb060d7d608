"""Reading ``.jsonl.gz`` recordings: inflated to a private temporary file, unlinked while open,
so a killed replay leaves nothing behind, and a damaged stream keeps what came before."""

from __future__ import annotations

import os
import tempfile
import zlib
from pathlib import Path

from busconsole.recording.errors import RecordingError


class Inflated:
    """A gzip file inflated to a private temporary file.

    On Linux the file is unlinked as soon as it is open and read back through
    ``/proc/self/fd``: nothing is left on disk however the process ends (SIGKILL too).
    Elsewhere it is a named 0600 file removed on close."""

    def __init__(self) -> None:
        fd, name = tempfile.mkstemp(prefix="busconsole-", suffix=".jsonl")
        self.fd = fd
        self.path = Path(name)
        self._named = True
        proc = Path(f"/proc/self/fd/{fd}")
        if os.path.exists(proc):
            os.unlink(name)
            self.path, self._named = proc, False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self._named:
            self.path.unlink(missing_ok=True)


_INFLATE_STEP = 1 << 16  # compressed bytes fed at once; a damaged step is replayed byte by byte


def inflate(path: Path, problems: list[str]) -> Inflated:
    """Decompress ``path`` into a private temporary file; a damaged or truncated stream keeps
    every byte that came before the damage, and the damage is reported."""
    tmp = Inflated()
    written = 0
    try:
        with open(path, "rb") as src:
            dst = os.fdopen(os.dup(tmp.fd), "wb")
            with dst:
                inflater = zlib.decompressobj(wbits=31)

                def feed(data: bytes) -> None:
                    nonlocal inflater, written
                    while data:
                        out = inflater.decompress(data)
                        dst.write(out)
                        written += len(out)
                        data = inflater.unused_data if inflater.eof else b""
                        if inflater.eof:
                            inflater = zlib.decompressobj(wbits=31)

                try:
                    while block := src.read(1 << 20):
                        for at in range(0, len(block), _INFLATE_STEP):
                            step = block[at : at + _INFLATE_STEP]
                            saved = inflater.copy()
                            try:
                                feed(step)
                            except zlib.error:
                                inflater = saved  # replay the step one byte at a time: keep all before the damage
                                for i in range(len(step)):
                                    feed(step[i : i + 1])
                                raise
                    dst.write(inflater.flush())  # a truncated stream (a live or killed recorder) keeps it all
                except zlib.error as exc:
                    dst.write(inflater.flush())
                    problems.append(
                        f"{path}: compressed data is damaged after {written} bytes ({exc}); kept the frames before it"
                    )
    except OSError as exc:
        tmp.close()
        raise RecordingError(f"{path}: cannot read: {exc}") from exc
    return tmp
