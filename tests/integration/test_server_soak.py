"""A short run of benchmarks/soak_server.py against an in-process server: fuzzed frames from
four clients, a stalled subscriber, and a 50k-alternative query beside a timed client."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from tests.conftest import load_benchmark

from busconsole.server.runner import ServerThread


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    return load_benchmark("soak_server")


async def test_short_soak_stays_within_every_limit(server: ServerThread, soak: ModuleType) -> None:
    """The server shares this process, so RSS and fds are of the test process: still bounded.
    The server and its clients share one interpreter here, so the latency limit is the
    benchmark's (200 ms, met by ``benchmarks/soak_server.py``) times five."""
    rows = await soak.soak(server.url, os.getpid(), frames=2_000, stall_seconds=2.0, query_seconds=2.0,
                           max_p99_ms=5 * soak.MAX_P99_MS)
    failed = [row for row in rows if not row[3]]
    assert not failed, failed
