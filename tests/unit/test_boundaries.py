"""The layers hold: each module is imported alone in a fresh interpreter and must not pull in
what its layer may not know (STYLE: one core, several front ends).

- The core (everything outside the front ends below) loads no Textual, websockets or typer,
  and none of busconsole's commands, TUI or reference server.
- Sessions (what the TUI draws) and the transport load no Textual.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import busconsole

PKG = Path(busconsole.__file__).parent
FRONT_ENDS = {"tui", "transport", "server", "commands", "cli", "sessions"}
CORE_MAY_NOT = ("textual", "websockets", "typer", "busconsole.commands", "busconsole.tui", "busconsole.server")
NO_UI = ("textual", "busconsole.tui")


def modules(parts: set[str] | None, exclude: set[str]) -> list[str]:
    names = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        if rel.parts[0] in exclude or rel.name == "__main__" or (parts is not None and rel.parts[0] not in parts):
            continue
        names.append(".".join(("busconsole", *rel.parts)).removesuffix(".__init__"))
    return names


def loaded(module: str, forbidden: tuple[str, ...]) -> str:
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({forbidden!r}))\n"
        "print(','.join(bad))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("module", modules(None, FRONT_ENDS))
def test_core_module_imports_no_ui_network_cli_or_server(module: str) -> None:
    bad = loaded(module, CORE_MAY_NOT)
    assert bad == "", f"{module} imports {bad}"


@pytest.mark.parametrize("module", modules({"sessions", "transport"}, set()))
def test_sessions_and_transport_import_no_ui(module: str) -> None:
    bad = loaded(module, NO_UI)
    assert bad == "", f"{module} imports {bad}"
