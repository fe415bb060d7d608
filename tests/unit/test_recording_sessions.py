"""Live sessions: recorded under the XDG state dir, oldest pruned past the budget."""

from __future__ import annotations

import os
import stat

from busconsole import paths
from busconsole.frames import OUT, CapturedFrame
from busconsole.recording.sessions import new_session_writer, prune_sessions, session_files


def test_session_goes_to_the_state_dir_with_mode_0600() -> None:
    with new_session_writer("ws://127.0.0.1:1/?token=abc") as w:
        w.write(CapturedFrame(1, 1.0, OUT, "c1", b'{"type":"QUERY"}'))
    assert w.path.parent == paths.sessions_dir()
    assert str(paths.sessions_dir()).startswith(os.environ["XDG_STATE_HOME"])
    assert stat.S_IMODE(w.path.stat().st_mode) == 0o600
    assert b"abc" not in w.path.read_bytes()
    assert session_files() == [w.path]


def test_oldest_sessions_are_pruned_past_the_budget() -> None:
    folder = paths.ensure(paths.sessions_dir())
    for name in ("20250101T000000.000000Z", "20250102T000000.000000Z", "20250103T000000.000000Z"):
        (folder / f"{name}.jsonl").write_bytes(b"x" * 1000)
    removed = prune_sessions(budget=2500)
    assert [p.name for p in removed] == ["20250101T000000.000000Z.jsonl"]
    assert len(session_files()) == 2
    removed = prune_sessions(budget=0)  # the newest one always stays
    assert [p.name for p in session_files()] == ["20250103T000000.000000Z.jsonl"]


def test_new_session_prunes_older_ones(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BUSCONSOLE_SESSIONS_MB", "0.001")
    folder = paths.ensure(paths.sessions_dir())
    old = folder / "20200101T000000.000000Z.jsonl"
    old.write_bytes(b"x" * 5000)
    new_session_writer("ws://127.0.0.1:1").close()
    assert not old.exists() and len(session_files()) == 1
