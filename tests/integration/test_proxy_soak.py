"""A short run of benchmarks/soak_proxy.py: failed handshakes, a blocked stderr and a flooding
client against real ``busconsole serve`` and ``busconsole proxy --no-tui --record`` processes."""

from __future__ import annotations

from types import ModuleType

import pytest
from tests.conftest import load_benchmark

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    return load_benchmark("soak_proxy")


async def test_short_proxy_soak_stays_within_every_limit(soak: ModuleType) -> None:
    """60 failed handshakes, 2 x 400 queries with stderr blocked, a 1.5 s flood of 16 KiB frames."""
    rows = await soak.soak(handshake_count=60, queries=400, baseline_s=1.0, flood_s=1.5, flood_mb=16.0)
    failed = [row for row in rows if not row[3]]
    assert not failed, failed
