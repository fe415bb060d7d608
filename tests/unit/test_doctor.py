"""The bus doctor: each check on a generated recording holding a known count of that problem
and none of the others; the is: keys show what each finding counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from busconsole.doctor import CHECKS, Report, Thresholds, checks_markdown, diagnose, thresholds_from
from busconsole.filtering import parse_filter
from busconsole.recording.reader import open_recording
from busconsole.store.file import FileStore, load
from doctor_traffic import Traffic


def doctor(tmp_path: Path, traffic: Traffic, thresholds: Thresholds | None = None) -> tuple[Report, FileStore]:
    store = load(open_recording([traffic.write(tmp_path / "t.jsonl")]))
    return diagnose(store, None, thresholds), store


def only(report: Report, check: str) -> int:
    """The count of ``check``, asserting it is the only finding."""
    assert [f.check for f in report.findings] == [check], [(f.check, f.summary) for f in report.findings]
    return report.findings[0].count


def shown(store: FileStore, text: str) -> int:
    return len(parse_filter(text).select(store))


def test_clean_traffic_has_no_findings(tmp_path: Path) -> None:
    t = Traffic()
    t.add(0, "in", "c1", {"type": "CONNECTION", "status": "connected"})
    t.add(1, "out", "c1", {"type": "SUBSCRIBE", "entity": "partner"})
    for n in range(10):
        t.query(100 + n * 2000)
    t.add(30_000, "out", "c1", {"type": "UNSUBSCRIBE", "entity": "partner"})
    report, _ = doctor(tmp_path, t)
    assert report.findings == []
    assert report.frames == 23


def test_missing_request_id(tmp_path: Path) -> None:
    t = Traffic()
    for n in range(3):
        t.query(n * 2000, req=False)
    t.query(9000)
    report, store = doctor(tmp_path, t)
    assert only(report, "missing-request-id") == 3
    assert report.findings[0].filter == "is:noreqid"
    assert shown(store, "is:noreqid") == 3


def test_large_payload(tmp_path: Path) -> None:
    t = Traffic()
    big = {"type": "QUERY_RESULT", "entity": "partner", "data": {"data": ["x" * 300_000]}}
    t.query(0, reply=big)
    t.query(2000, reply=big)
    t.query(4000)
    report, store = doctor(tmp_path, t)
    assert only(report, "large-payload") == 2
    assert shown(store, report.findings[0].filter) == 2


def test_large_payload_counts_store_updates_by_their_subscribers(tmp_path: Path) -> None:
    t = Traffic()
    conns = [f"c{n}" for n in range(5)]
    for k, conn in enumerate(conns):
        t.add(k, "out", conn, {"type": "SUBSCRIBE", "entity": "partner"})
    update = {"type": "STORE_UPDATE", "entity": "partner", "data": {"data": ["y" * 250_000]}}
    for k, conn in enumerate(conns):
        t.add(100 + k, "in", conn, update)  # 250 KiB, under the threshold, but times 5 subscribers
    t.add(150, "in", "c0", {"type": "STORE_UPDATE", "entity": "partner", "data": {}})
    for k, conn in enumerate(conns):
        t.add(200 + k, "out", conn, {"type": "UNSUBSCRIBE", "entity": "partner"})
    report, store = doctor(tmp_path, t)
    assert only(report, "large-payload") == 5
    assert shown(store, report.findings[0].filter) == 5


def test_subscription_leak(tmp_path: Path) -> None:
    t = Traffic()
    t.add(0, "out", "c1", {"type": "SUBSCRIBE", "entity": "partner"})
    t.add(1, "out", "c1", {"type": "SUBSCRIBE", "entity": "cloud"})
    t.add(2, "out", "c1", {"type": "SUBSCRIBE", "entity": "compute"})
    t.add(3, "out", "c1", {"type": "UNSUBSCRIBE", "entity": "compute"})
    t.add(4, "out", "c2", {"type": "SUBSCRIBE", "entity": "partner"})
    t.add(5, "in", "c2", {"type": "PROXY_CLOSE", "conn": "c2", "by": "client", "code": 1000})
    t.add(6, "out", "c3", {"type": "SUBSCRIBE", "entity": "partner"})
    t.add(7, "out", "c3", {"type": "UNSUBSCRIBE", "entity": "partner"})
    t.add(8, "in", "c3", {"type": "PROXY_CLOSE", "conn": "c3", "by": "client", "code": 1000})
    report, store = doctor(tmp_path, t)  # c1 partner and cloud at the end, c2 partner at its close
    assert only(report, "subscription-leak") == 3
    assert report.findings[0].conns == ["c1", "c2"]
    assert report.findings[0].entities == ["cloud", "partner"]
    assert shown(store, "is:leak") == 3


def test_duplicate_subscribe(tmp_path: Path) -> None:
    t = Traffic()
    for k in range(3):
        t.add(k, "out", "c1", {"type": "SUBSCRIBE", "entity": "partner"})
    t.add(10, "out", "c1", {"type": "SUBSCRIBE", "entity": "cloud"})
    t.add(11, "out", "c1", {"type": "SUBSCRIBE", "entity": "cloud"})
    t.add(20, "out", "c1", {"type": "UNSUBSCRIBE", "entity": "partner"})
    t.add(21, "out", "c1", {"type": "UNSUBSCRIBE", "entity": "cloud"})
    t.add(22, "out", "c1", {"type": "SUBSCRIBE", "entity": "partner"})  # again after an unsubscribe: fine
    t.add(23, "out", "c1", {"type": "UNSUBSCRIBE", "entity": "partner"})
    report, store = doctor(tmp_path, t)
    assert only(report, "duplicate-subscribe") == 3
    assert shown(store, "is:dupsub") == 3


def test_unanswered(tmp_path: Path) -> None:
    t = Traffic()
    t.query(0)
    t.query(100, reply_after=None)
    t.query(200, entity="compute", reply_after=None)
    t.query(300, reply_after=35_000)  # answered, but after the timeout
    t.query(50_000)
    t.query(50_100, reply_after=None)  # the session ended 5 ms later: not judged
    report, store = doctor(tmp_path, t)
    assert only(report, "unanswered") == 3
    f = report.findings[0]
    assert f.entities == ["compute", "partner"]
    assert shown(store, f.filter) == 3


def test_slow_entity(tmp_path: Path) -> None:
    t = Traffic()
    for n in range(4):
        t.query(n * 3000, entity="compute", reply_after=1500)
    for n in range(6):
        t.query(20_000 + n * 3000, entity="partner", reply_after=20)
    report, store = doctor(tmp_path, t)
    assert only(report, "slow-entity") == 4
    f = report.findings[0]
    assert f.entities == ["compute"]
    assert shown(store, f.filter) == 4


def test_retry_storm(tmp_path: Path) -> None:
    t = Traffic()
    for n in range(6):  # the same query, a fresh requestId each time, 1.5 s apart: 7.5 s in all
        t.query(n * 1500, criteria={"name": "telcobright"})
    for n in range(4):  # four only: not a storm
        t.query(30_000 + n * 1500, criteria={"name": "other"})
    for n in range(5):  # five, but over 20 s
        t.query(60_000 + n * 5000, criteria={"name": "slowly"})
    report, store = doctor(tmp_path, t)
    assert only(report, "retry-storm") == 6
    assert shown(store, "is:retry") == 6


def test_repeated_query(tmp_path: Path) -> None:
    t = Traffic()
    for n in range(3):
        t.query(n * 100, criteria={"name": "a"})
    for n in range(2):
        t.query(5000 + n * 500, criteria={"name": "b"})
    t.query(5200, conn="c2", criteria={"name": "b"})  # another connection: not the same
    t.query(9000, criteria={"name": "a"})
    report, store = doctor(tmp_path, t)
    assert only(report, "repeated-query") == 5
    assert shown(store, "is:repeat") == 5


def test_error_burst(tmp_path: Path) -> None:
    t = Traffic()
    for n in range(3):
        t.query(n * 2000, reply={"type": "ERROR", "error": f"partner {n + 10} not found"})
    t.add(8000, "out", "c1", {"type": "CONSOLE_LOGS", "messages": [
        {"level": "error", "message": "TypeError: cannot read 'computes' of undefined"},
        {"level": "error", "message": "TypeError: cannot read 'clouds' of undefined"},
        {"level": "warn", "message": "slow render"}]})
    report, store = doctor(tmp_path, t)
    assert only(report, "error-burst") == 5
    f = report.findings[0]
    assert f.details[0].split() == ["3", "partner", "N", "not", "found"]
    assert "TypeError: cannot read '…' of undefined" in f.details[1]
    assert shown(store, f.filter) == 4  # three ERROR frames and one console batch


def test_reconnect_loop_of_a_client(tmp_path: Path) -> None:
    t = Traffic()
    for n in range(4):  # connected, then re-established three times within 30 s
        t.add(n * 10_000, "in", "c1", {"type": "CONNECTION", "status": "connected"})
    t.add(0, "in", "c2", {"type": "CONNECTION", "status": "connected"})
    for n in range(3):  # twice a minute: not a loop
        t.add(n * 40_000, "in", "c2", {"type": "CONNECTION", "status": "connected"})
    report, store = doctor(tmp_path, t)
    assert only(report, "reconnect-loop") == 3
    assert report.findings[0].conns == ["c1"]
    assert shown(store, report.findings[0].filter) == 4


def test_reconnect_loop_through_the_proxy(tmp_path: Path) -> None:
    t = Traffic()
    for n in range(5):  # one tab, a new connection each time: reconnected four times in 40 s
        conn = f"c{n + 1}"
        t.add(n * 10_000, "in", conn, {"type": "PROXY_OPEN", "conn": conn, "peer": f"10.0.0.5:{5000 + n}"})
        t.add(n * 10_000 + 5000, "in", conn, {"type": "PROXY_CLOSE", "conn": conn, "by": "client", "code": 1006})
    for n in range(3):  # three tabs open at once from another host: no reconnection
        conn = f"d{n}"
        t.add(n, "in", conn, {"type": "PROXY_OPEN", "conn": conn, "peer": f"10.0.0.9:{6000 + n}"})
    report, _ = doctor(tmp_path, t)
    assert only(report, "reconnect-loop") == 4


def test_findings_are_sorted_most_severe_first_and_thresholds_apply(tmp_path: Path) -> None:
    t = Traffic()
    t.query(0, req=False)
    t.query(100, reply_after=None)
    t.query(40_000, entity="compute", reply_after=700)
    report, _ = doctor(tmp_path, t)
    assert [f.check for f in report.findings] == ["unanswered", "missing-request-id"]
    report, _ = doctor(tmp_path, Traffic(), None)
    assert report.findings == []
    strict = thresholds_from({"slow_ms": 500}, ["timeout_s=60"])
    report, _ = doctor(tmp_path, t, strict)
    assert [f.check for f in report.findings] == ["missing-request-id", "slow-entity"]


def test_thresholds_reject_unknown_names_and_bad_values() -> None:
    assert thresholds_from(None, ["retry_count=3"]).retry_count == 3
    for bad in (["nope=1"], ["slow_ms"], ["slow_ms=fast"]):
        with pytest.raises(ValueError):
            thresholds_from(None, bad)
    with pytest.raises(ValueError):
        thresholds_from({"slow_ms": -1})


def test_every_check_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert checks_markdown() in readme
    assert len(CHECKS) == 10


@pytest.mark.parametrize("text", ["is:leak", "is:retry", "is:repeat", "is:dupsub"])
def test_marked_keys_need_a_store(text: str) -> None:
    assert parse_filter(text).needs_pairing
    assert not parse_filter("is:noreqid is:large").needs_pairing


def test_doctor_over_picked_frames_only(tmp_path: Path) -> None:
    t = Traffic()
    t.query(0, conn="c1", req=False)
    t.query(10, conn="c2", req=False)
    report, store = doctor(tmp_path, t)
    picked = parse_filter("conn:c2").select(store)
    sub = diagnose(store, picked)
    assert [(f.check, f.count) for f in sub.findings] == [("missing-request-id", 1)]
    assert report.findings[0].count == 2


