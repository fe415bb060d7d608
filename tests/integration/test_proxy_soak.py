"""A short run of benchmarks/soak_proxy.py: failed handshakes, a blocked stderr and a flooding
client against real ``busconsole serve`` and ``busconsole proxy --no-tui --record`` processes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "soak_proxy.py"
pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak_proxy", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    sys.path.insert(0, str(SCRIPT.parent))  # its sibling modules, as when run as a script
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


async def test_short_proxy_soak_stays_within_every_limit(soak: ModuleType) -> None:
    """60 failed handshakes, 2 x 400 queries with stderr blocked, a 1.5 s flood of 16 KiB frames."""
    rows = await soak.soak(handshake_count=60, queries=400, baseline_s=1.0, flood_s=1.5, flood_mb=16.0)
    failed = [row for row in rows if not row[3]]
    assert not failed, failed
