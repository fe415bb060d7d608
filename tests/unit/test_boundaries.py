"""The core knows nothing of Textual or websockets: each core module is imported alone in a
fresh interpreter and must not pull either in (STYLE: one core, several front ends)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import busconsole

PKG = Path(busconsole.__file__).parent
FRONT_ENDS = {"tui", "transport", "server", "commands", "cli", "session"}


def core_modules() -> list[str]:
    names = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        if rel.parts[0] in FRONT_ENDS or rel.name == "__main__":
            continue
        names.append(".".join(("busconsole", *rel.parts)).removesuffix(".__init__"))
    return names


@pytest.mark.parametrize("module", core_modules())
def test_core_module_imports_no_ui_or_network_library(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'websockets'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imports {out.stdout.strip()}"
