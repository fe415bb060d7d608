"""playback.py: the replay clock, driven by hand with an explicit monotonic time."""

from __future__ import annotations

import math
import os
import time
from datetime import datetime

import pytest

from busconsole.playback import JumpError, PlaybackClock, parse_jump

TIMES = [1000.0, 1500.0, 2000.0, 2000.0, 4000.0, 10000.0]


def test_plays_in_session_time_at_speed() -> None:
    c = PlaybackClock(TIMES)
    c.play(now=100.0)
    assert c.tick(100.0) == 1  # the first frame is revealed at once
    assert c.tick(101.0) == 4  # one second later: everything up to t=2000
    c.faster(101.0)  # 2x from here
    assert c.tick(102.0) == 5  # 2000 + 2 s*... reaches 4000
    assert c.playing
    c.speed = math.inf
    assert c.tick(102.5) == len(TIMES) and not c.playing and c.at_end


def test_pause_freezes_and_resume_continues_from_position() -> None:
    c = PlaybackClock(TIMES)
    c.play(0.0)
    c.tick(0.6)
    assert c.position == 2
    c.pause()
    assert c.tick(100.0) == 2
    c.play(200.0)
    assert c.tick(200.4) == 2  # resumes at t=1500: 0.4 s later the clock reads 1900
    assert c.tick(200.5) == 4
    assert c.session_time == 2000.0


def test_step_seek_and_bounds() -> None:
    c = PlaybackClock(TIMES)
    c.step(-3)
    assert c.position == 0
    c.step(2)
    assert c.position == 2 and not c.playing
    c.seek(99)
    assert c.at_end
    c.seek_time(2000.0)
    assert c.position == 4
    c.seek_time(0.0)
    assert c.position == 0


def test_speed_steps_are_bounded() -> None:
    c = PlaybackClock(TIMES, speed=1.0)
    for _ in range(20):
        c.slower(0.0)
    assert c.speed == 0.25 and c.speed_label == "0.25x"
    for _ in range(20):
        c.faster(0.0)
    assert math.isinf(c.speed) and c.speed_label == "max"


@pytest.fixture
def utc() -> None:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_parse_jump_forms(utc: None) -> None:
    first = datetime(2025, 9, 21, 18, 52, 32).timestamp() * 1000
    assert parse_jump("+30s", 5000.0, first) == 35000.0
    assert parse_jump("-2m", 200000.0, first) == 80000.0
    assert parse_jump("+250ms", 0.0, first) == 250.0
    assert parse_jump("18:53:00", first, first) == first + 28000
    assert parse_jump("2025-09-21T18:52:33Z", first, first) == first + 1000


@pytest.mark.parametrize("bad", ["", "soon", "25:00", "+x", "12:61"])
def test_parse_jump_errors(bad: str, utc: None) -> None:
    with pytest.raises(JumpError):
        parse_jump(bad, 0.0, 0.0)
