"""``busconsole replay FILES --to URL``: the recorded requests sent again to a live server,
paced as recorded, at once or one reply at a time; ``--check`` compares the replies."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from busconsole.commands.common import EXIT_OK, EXIT_UNREACHABLE, note

if TYPE_CHECKING:
    from busconsole.filtering import Filter
    from busconsole.recording.reader import Recording
    from busconsole.recording.replayer import Ignore, Step

EXIT_MISMATCH = 1


class Pace(StrEnum):
    original = "original"
    fast = "fast"
    ack = "ack"


def send(
    rec: Recording, url: str, headers: dict[str, str], shown_url: str, flt: Filter | None, yes: bool,
    pace: Pace, speed: float, stop_on_error: bool, check: bool, timeout: float, ignore: tuple[str, ...] = (),
) -> int:
    import asyncio

    from busconsole.commands.replay import report_problems
    from busconsole.recording.replayer import Ignore, build_plan

    steps = build_plan(rec)
    if flt is not None:
        from busconsole.store.file import load

        picked = set(flt.select(load(rec)))
        steps = [s for s in steps if s.index in picked]
    report_problems(rec)
    rec.close()
    if not yes:
        for step in steps:
            print(f"plan {step.describe()}")
        note(f"dry run: {len(steps)} requests would go to {shown_url}; add --yes to send them")
        return EXIT_OK
    rules = Ignore(ignore) if check else None
    return asyncio.run(_run(steps, url, headers, shown_url, pace, speed, stop_on_error, rules, timeout))


async def _run(
    steps: list[Step], url: str, headers: dict[str, str], shown_url: str, pace: Pace, speed: float,
    stop_on_error: bool, check: Ignore | None, timeout: float,
) -> int:
    import asyncio
    import time

    from busconsole.recording.replayer import delays
    from busconsole.transport.client import BusClient
    from busconsole.transport.state import ConnectFailed
    from busconsole.wire import REPLIES

    async with BusClient(url, headers=headers, max_attempts=1) as client:
        try:
            await client.wait_connected(timeout)
        except ConnectFailed as exc:
            note(f"error: {shown_url}: {exc}")
            return EXIT_UNREACHABLE

        async def one(step: Step) -> tuple[Step, object, float]:
            start = time.monotonic()
            try:
                if step.type in REPLIES:
                    reply: object = await client.request(step.frame, timeout)
                else:
                    await client.send(step.frame)
                    reply = None
            except Exception as exc:  # noqa: BLE001 - each failure is reported on its own line
                reply = exc
            return step, reply, (time.monotonic() - start) * 1000

        failures = 0
        tasks: list[asyncio.Task[tuple[Step, object, float]]] = []
        try:
            for step, wait in zip(steps, delays(steps, speed), strict=True):
                if pace is Pace.original and wait:
                    await asyncio.sleep(wait)
                task = asyncio.create_task(one(step))
                tasks.append(task)
                if pace is Pace.ack:
                    bad = _show_result(*await task, check)
                    failures += bad
                    if bad and stop_on_error:
                        break
            if pace is not Pace.ack:
                for task in tasks:
                    bad = _show_result(*await task, check)
                    failures += bad
                    if bad and stop_on_error:
                        break
        finally:
            for task in tasks:
                task.cancel()
    note(f"replayed {len(tasks)} of {len(steps)} requests to {shown_url}; {failures} failed")
    if check is not None:
        note(f"replies compared ignoring {check.describe()}")
    return EXIT_MISMATCH if failures else EXIT_OK


def _show_result(step: Step, reply: object, ms: float, check: Ignore | None) -> int:
    """Print one result line (and differences, and the differing paths --ignore left out);
    1 when it counts as a failure."""
    from busconsole.frames import CapturedFrame
    from busconsole.recording.replayer import compare

    head = f"sent {step.describe()}"
    if isinstance(reply, BaseException):
        print(f"{head}: no reply ({type(reply).__name__}: {reply})")
        return 1
    if not isinstance(reply, CapturedFrame):
        print(head)
        return 0
    obj = reply.obj
    print(f"{head}: {reply.type} in {ms:.1f} ms")
    if reply.type == "ERROR" and not (check is not None and step.reply is not None and str(step.reply.get("type")) == "ERROR"):
        print(f"  error: {obj.get('error') if obj else reply.text()}")
        return 1
    if check is not None and step.reply is not None:
        found = compare(step.reply, obj, check)
        for line in found.differences:
            print(f"  differs: {line}")
        if found.ignored:
            print(f"  ignored: {', '.join(found.ignored)}")
        return 1 if found.differences else 0
    return 0
