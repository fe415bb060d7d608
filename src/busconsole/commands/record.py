"""`busconsole record`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Being written; see the issue that owns this command."""
