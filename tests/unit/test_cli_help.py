"""Every command's --help reads cleanly at 80 columns: paragraphs wrap at the terminal's width
(never mid-sentence where the source text had a line break), flags show no ``<bool>``, lists
name what they take, and an Examples section ends the text."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from busconsole.cli import COMMANDS, app
from busconsole.commands.common import command_help

runner = CliRunner()


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_examples_and_no_type_noise(command: str) -> None:
    done = runner.invoke(app, [command, "--help"], env={"COLUMNS": "80", "BUSCONSOLE_HELP_CACHE": "0"},
                         terminal_width=80)
    assert done.exit_code == 0, done.output
    text = done.output
    assert "Examples:" in text and f"busconsole {command}" in text.split("Examples:")[1] or command == "connect"
    assert "<bool>" not in text and "<list[str]>" not in text
    assert "DESIGN" not in text


def test_paragraphs_become_one_line_each_and_indented_blocks_stay() -> None:
    text = "First line\ngoes on.\n\nSecond paragraph\nalso.\n\n  kept as\n  it is"
    out = command_help(text, ("busconsole x --y",))
    assert out.split("\n\n") == ["First line goes on.", "Second paragraph also.", "  kept as\n  it is",
                                 "Examples:\n  busconsole x --y"]
