"""cli.py's help cache: what it writes back is, byte for byte, what typer writes.

Every command's ``--help`` (and the app's) is rendered through typer with the cache off,
then through the cache twice (the first fills it, the second is answered from it), at
COLUMNS=80 and 100, in a child process per width. The real console script is then run
as users run it: in a pipe and in a pseudo-terminal (colours, the terminal's own width),
and the cached answer must not import typer, Rich or pydantic.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from busconsole import cli

SRC = str(Path(cli.__file__).resolve().parents[1])
ARGS = [["--help"], *([c, "--help"] for c in cli.COMMANDS)]


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR")}
    out.update(PYTHONPATH=SRC, XDG_CACHE_HOME=str(tmp_path / "cache"), **extra)
    return out


CHILD = textwrap.dedent("""
    import json, os, sys
    from busconsole import cli

    def run(args, cache, path):
        os.environ["BUSCONSOLE_HELP_CACHE"] = "1" if cache else "0"
        real = sys.stdout
        with open(path, "w", encoding="utf-8") as sys.stdout:
            code = cli.print_help(list(args))
            cached = cli.cached_help(cli.help_key(args, sys.stdout)) is not None
        sys.stdout = real
        with open(path, encoding="utf-8") as f:
            return code, f.read(), cached

    out = {}
    for args in json.loads(sys.argv[1]):
        path = sys.argv[2]
        out[" ".join(args)] = [run(args, False, path), run(args, True, path), run(args, True, path)]
    print(json.dumps(out))
""")


@pytest.mark.parametrize("columns", ["80", "100"])
def test_every_help_from_the_cache_is_typers_byte_for_byte(columns: str, tmp_path: Path) -> None:
    import json

    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(ARGS), str(tmp_path / "out.txt")],
                          env=env(tmp_path, COLUMNS=columns), capture_output=True, text=True, timeout=300,
                          check=True)
    results = json.loads(done.stdout)
    assert len(results) == len(ARGS)
    for args, (typer_run, filling, cached) in results.items():
        assert typer_run[0] == 0, args
        assert "Usage: busconsole" in typer_run[1], args
        assert filling[:2] == cached[:2] == typer_run[:2], args
        assert not typer_run[2] and filling[2] and cached[2], args  # the cache was off, then filled
        width = max(len(line) for line in typer_run[1].splitlines())
        assert width == int(columns), (args, width)


def script(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from busconsole.cli import main; sys.argv[0] = 'busconsole'; main()",
            *args]


def test_the_cached_answer_imports_neither_typer_nor_rich(tmp_path: Path) -> None:
    e = env(tmp_path, COLUMNS="100")
    reference = subprocess.run(script("tail", "--help"), env={**e, "BUSCONSOLE_HELP_CACHE": "0"},
                               capture_output=True, timeout=120)
    first = subprocess.run(script("tail", "--help"), env=e, capture_output=True, timeout=120)
    second = subprocess.run(script("tail", "--help"), env={**e, "PYTHONPROFILEIMPORTTIME": "1"},
                            capture_output=True, timeout=120)
    assert reference.returncode == first.returncode == second.returncode == 0
    assert reference.stdout == first.stdout == second.stdout
    assert b"--json" in second.stdout
    imported = {line.rsplit(b"|", 1)[-1].strip().split(b".")[0] for line in second.stderr.splitlines()}
    assert b"busconsole" in imported
    assert not imported & {b"typer", b"click", b"rich", b"pydantic", b"asyncio", b"websockets"}


def in_pty(args: list[str], environ: dict[str, str], cols: int) -> tuple[int, bytes]:
    """Run ``args`` on a pseudo-terminal of ``cols`` x 30; (exit code, what it printed)."""
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, cols, 0, 0))
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=environ, close_fds=True)
    os.close(follower)
    out = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    return proc.wait(120), bytes(out)


@pytest.mark.parametrize("args", [["--help"], ["tail", "--help"]])
def test_on_a_terminal_the_colours_and_the_width_are_typers(args: list[str], tmp_path: Path) -> None:
    e = env(tmp_path, TERM="xterm-256color")
    reference = in_pty(script(*args), {**e, "BUSCONSOLE_HELP_CACHE": "0"}, 91)
    first = in_pty(script(*args), e, 91)
    second = in_pty(script(*args), e, 91)
    assert reference[0] == first[0] == second[0] == 0
    assert b"\x1b[" in reference[1]  # coloured
    assert reference[1] == first[1] == second[1]
    narrower = in_pty(script(*args), e, 60)
    assert narrower[1] != reference[1]  # another width is another entry, rendered by typer
    assert narrower == in_pty(script(*args), {**e, "BUSCONSOLE_HELP_CACHE": "0"}, 60)


def test_the_key_follows_the_width_the_terminal_the_environment_and_the_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    key = cli.help_key(["tail", "--help"], sys.stdout)
    assert key == cli.help_key(["tail", "--help"], sys.stdout)
    assert key != cli.help_key(["send", "--help"], sys.stdout)
    monkeypatch.setenv("COLUMNS", "81")
    assert key != cli.help_key(["tail", "--help"], sys.stdout)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    assert key != cli.help_key(["tail", "--help"], sys.stdout)
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("BUSCONSOLE_TOKEN", "s3cret")  # help shows the variable's name, never its value
    assert key == cli.help_key(["tail", "--help"], sys.stdout)
    assert "s3cret" not in key
    st = os.stat(cli.__file__)
    assert f"/cli.py:{st.st_size}:{st.st_mtime_ns}" in key
    assert f"{os.sep}commands{os.sep}tail.py:" in key


def test_a_stale_or_unreadable_entry_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    key = cli.help_key(["tail", "--help"], sys.stdout)
    assert cli.cached_help(key) is None
    cli._store_help(key, "the help\n")
    assert cli.cached_help(key) == "the help\n"
    assert cli.cached_help(key + "x") is None
    path = Path(cli._help_cache_path(key))
    path.write_text("another key\0other help\n", encoding="utf-8")  # a hash collision, or an edit
    assert cli.cached_help(key) is None


def test_help_still_prints_when_the_cache_cannot_be_written(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    e = {**env(tmp_path, COLUMNS="80"), "XDG_CACHE_HOME": str(blocked)}
    for _ in range(2):
        done = subprocess.run(script("send", "--help"), env=e, capture_output=True, timeout=120)
        assert done.returncode == 0
        assert b"Usage: busconsole send" in done.stdout
        assert done.stderr == b""


@pytest.mark.parametrize("args", [["-h"], ["tail", "--help", "x"], ["tail", "ws://x", "--help"], ["nope", "--help"],
                                  ["--help", "tail"]])
def test_only_plain_help_requests_take_the_cache(args: list[str]) -> None:
    argv = list(args)
    if argv[0] not in cli.COMMANDS and argv[0] not in ("--help", "-h"):
        argv.insert(0, "connect")
    assert not cli.is_help_request(argv) or argv[:1] == ["connect"]
