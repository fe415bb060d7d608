"""The core is typed strictly: ``mypy --strict`` over every core module (the front ends are
checked by ``make lint`` with the project's settings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "busconsole"
CORE = ["wire.py", "protocol.py", "frames.py", "facts.py", "store", "pairing.py", "state.py", "console.py",
        "summary.py", "doctor", "filtering", "recording", "render.py", "config.py", "paths.py", "playback.py", "compose"]


def test_the_core_passes_mypy_strict() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", *(str(SRC / c) for c in CORE)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
