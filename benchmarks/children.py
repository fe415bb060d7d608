"""Child processes of the benchmarks: stopped the way a person stops them (SIGINT, so they
flush and close), killed only when they do not stop within ``grace`` seconds."""

from __future__ import annotations

import signal
import subprocess


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes], grace: float = 10.0) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
