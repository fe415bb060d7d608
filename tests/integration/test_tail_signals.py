"""tail stops on signals as a script expects, even started in the background of one (where
SIGINT arrives ignored): 130 on SIGINT, 0 on SIGTERM, what it had is flushed first."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import pytest


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_tail_exits_on_signals_with_the_usual_codes(server: Any, sig: int, code: int) -> None:
    # SIGINT ignored at exec, as a non-interactive shell does for `cmd &`
    proc = subprocess.Popen([sys.executable, "-m", "busconsole.cli", "tail", server.url, "--json", "-s", "partner"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the first frame is out: the client runs
    assert line
    time.sleep(0.2)
    proc.send_signal(sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == code, proc.stderr.read() if proc.stderr else b""
