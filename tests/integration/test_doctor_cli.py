"""``replay --doctor`` (text, --json, --fail-on), ``tail --doctor --duration`` and the demo's
simulated frontends, which carry the doctor's bugs on purpose."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from busconsole.doctor import diagnose
from busconsole.server.runner import ServerThread
from busconsole.server.simulate import Pace
from busconsole.sessions.demo import DemoSession
from doctor_traffic import Traffic

pytestmark = pytest.mark.timeout(120)
FIELDS = {"check", "severity", "count", "summary", "filter", "examples", "example_times", "entities", "conns",
          "details"}


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "busconsole.cli", *args], capture_output=True, timeout=60)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """Two requests without an id (warn) and one never answered (error)."""
    t = Traffic()
    t.query(0, req=False)
    t.query(1000, req=False)
    t.query(2000, entity="compute", reply_after=None)
    t.query(40_000)
    return t.write(tmp_path / "session.jsonl")


def test_json_is_an_array_of_findings_most_severe_first(recording: Path) -> None:
    done = cli("replay", str(recording), "--doctor", "--json")
    assert done.returncode == 0, done.stderr
    findings = orjson.loads(done.stdout)
    assert [(f["check"], f["severity"], f["count"]) for f in findings] == [
        ("unanswered", "error", 1), ("missing-request-id", "warn", 2)]
    for f in findings:
        assert set(f) == FIELDS
        assert all(isinstance(seq, int) for seq in f["examples"]) and len(f["example_times"]) == len(f["examples"])
    assert findings[0]["entities"] == ["compute"] and findings[0]["conns"] == ["c1"]
    assert findings[1]["examples"] == [0, 2]
    # the filter of a finding shows its frames through --print, as in the TUI
    shown = cli("replay", str(recording), "--print", "--filter", findings[1]["filter"]).stdout.splitlines()
    assert len(shown) == 2


def test_text_report_names_counts_examples_and_filters(recording: Path) -> None:
    done = cli("replay", str(recording), "--doctor")
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert out.startswith("bus doctor: 7 frames, 2 findings (1 error, 1 warn)")
    assert out.index("ERROR unanswered") < out.index("WARN  missing-request-id")
    assert "filter: is:noreqid" in out and "examples: #0 " in out and "why: " in out


def test_fail_on_gates_by_severity(recording: Path, tmp_path: Path) -> None:
    assert cli("replay", str(recording), "--doctor", "--fail-on", "error").returncode == 1
    assert cli("replay", str(recording), "--doctor", "--fail-on", "warn").returncode == 1
    only_warn = ["--doctor", "--filter", "entity:partner", "--fail-on"]
    assert cli("replay", str(recording), *only_warn, "error").returncode == 0
    assert cli("replay", str(recording), *only_warn, "warn").returncode == 1
    clean = Traffic()
    clean.query(0)
    path = clean.write(tmp_path / "clean.jsonl")
    done = cli("replay", str(path), "--doctor", "--fail-on", "warn")
    assert done.returncode == 0 and b"no findings" in done.stdout
    assert cli("replay", str(path), "--doctor", "--json").stdout.strip() == b"[]"


def test_thresholds_from_options_and_bad_usage(recording: Path) -> None:
    done = cli("replay", str(recording), "--doctor", "--json", "--threshold", "timeout_s=60")
    assert [f["check"] for f in orjson.loads(done.stdout)] == ["missing-request-id"]
    assert cli("replay", str(recording), "--doctor", "--threshold", "nope=1").returncode == 64
    assert cli("replay", str(recording), "--print", "--fail-on", "warn").returncode == 64


def test_the_fixture_tree_gives_a_sensible_report(fixtures_dir: Path) -> None:
    done = cli("replay", str(fixtures_dir), "--doctor", "--json")
    assert done.returncode == 0, done.stderr
    findings = {f["check"]: f for f in orjson.loads(done.stdout)}
    # the real logs: queries without ids, console errors of two kinds, one 300 KB line
    assert {"missing-request-id", "error-burst", "large-payload"} <= set(findings)
    assert findings["error-burst"]["count"] >= findings["error-burst"]["examples"].__len__()
    for f in findings.values():
        assert f["count"] > 0 and 1 <= len(f["examples"]) <= 5 and f["filter"]
        shown = cli("replay", str(fixtures_dir), "--print", "--filter", f["filter"]).stdout.splitlines()
        assert shown, f["filter"]


async def test_the_demo_frontends_make_findings_on_purpose(server: ServerThread) -> None:
    fast = Pace(think=(0.01, 0.03), log_every=0.2, batch=5)
    session = DemoSession(server.url, frontends=3, pace=fast, seed=5)
    await session.start()
    try:
        for _ in range(400):
            await asyncio.sleep(0.05)
            report = diagnose(session.store)
            if {"duplicate-subscribe", "missing-request-id"} <= {f.check for f in report.findings}:
                break
    finally:
        await session.stop()
    found = {f.check: f for f in report.findings}
    assert found["duplicate-subscribe"].count == 1
    assert len(found["duplicate-subscribe"].conns) == 1
    assert found["missing-request-id"].conns == found["duplicate-subscribe"].conns


def test_tail_doctor_reports_after_its_duration(server: ServerThread) -> None:
    done = cli("tail", server.url, "-s", "partner", "-s", "partner", "--doctor", "--duration", "1.5", "--json")
    assert done.returncode == 0, done.stderr
    findings = orjson.loads(done.stdout)
    assert isinstance(findings, list)
    assert cli("tail", server.url, "--duration", "1").returncode == 64


def test_thresholds_from_the_profile(recording: Path) -> None:
    import os

    config = Path(os.environ["XDG_CONFIG_HOME"]) / "busconsole" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[profiles.ci]\ndoctor = { timeout_s = 60 }\n\n[profiles.bad]\ndoctor = { nope = 1 }\n')
    done = cli("replay", str(recording), "--doctor", "--json", "--profile", "ci")
    assert [f["check"] for f in orjson.loads(done.stdout)] == ["missing-request-id"]
    done = cli("replay", str(recording), "--doctor", "--json", "--profile", "ci", "--threshold", "timeout_s=30")
    assert [f["check"] for f in orjson.loads(done.stdout)] == ["unanswered", "missing-request-id"]
    bad = cli("replay", str(recording), "--doctor", "--profile", "bad")
    assert bad.returncode == 64 and b"unknown threshold 'nope'" in bad.stderr
