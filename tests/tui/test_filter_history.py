"""The filter history file: private (0600) like every file busconsole writes."""

from __future__ import annotations

import stat
from pathlib import Path

from busconsole.tui.widgets.filter_bar import FilterHistory


def test_filter_history_is_private(tmp_path: Path) -> None:
    path = tmp_path / "filter-history"
    FilterHistory(path).add("entity:partner")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # written by an older version
    FilterHistory(path).add("type:ERROR")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().splitlines() == ["entity:partner", "type:ERROR"]
