#!/usr/bin/env python3
"""Pingan's developer entry point; needs nothing but Python 3.11+.

    python3 dev.py run      install (first time), then start the platform with the demo city
    python3 dev.py test     install (first time), then run every check and the whole test suite
    python3 dev.py help     every command

It keeps a virtual environment in ``.venv`` installed from the lockfiles in
``requirements/`` and reinstalls only when they change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("PINGAN_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
LOCKS = {"run": ROOT / "requirements" / "run.lock", "dev": ROOT / "requirements" / "dev.lock"}

COMMANDS = {
    "run": "install, then start the platform with the demo city and open the command centre",
    "test": "install, then run lint, types, import contracts, migration check and all tests",
    "lint": "ruff, mypy, import-linter and alembic check only",
    "bench": "run every benchmark in bench/ and print the comparisons",
    "install": "create .venv and install the platform with test and dev tools",
    "lock": "regenerate the lockfiles from pyproject.toml (needs the network)",
    "help": "this list",
}


def say(msg: str) -> None:
    print(f"\033[1;34m==>\033[0m {msg}", flush=True)


def sh(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def ensure_venv(kind: str) -> None:
    """Create .venv and install the ``kind`` lock (``run`` or ``dev``) when it changed."""
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py runs on whatever python3 is)
        sys.exit("Pingan needs Python 3.11 or newer")
    if not PY.exists():
        say(f"creating {VENV}")
        venv.create(VENV, with_pip=True)
    locks = [LOCKS["run"]] if kind == "run" else [LOCKS["run"], LOCKS["dev"]]
    digest = hashlib.sha256()
    for path in [ROOT / "pyproject.toml", *locks]:
        digest.update(path.read_bytes())
    stamp = VENV / f".installed-{kind}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    if kind == "run" and (VENV / ".installed-dev").exists():
        dev_digest = hashlib.sha256()
        for path in [ROOT / "pyproject.toml", LOCKS["run"], LOCKS["dev"]]:
            dev_digest.update(path.read_bytes())
        if (VENV / ".installed-dev").read_text() == dev_digest.hexdigest():
            return  # the dev install is a superset of the run install
    say(f"installing dependencies ({kind}); the first time takes a few minutes")
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    lock = LOCKS[kind]
    if sh(*pip, "-r", lock) != 0:
        sys.exit(f"pip could not install {lock.relative_to(ROOT)}")
    if sh(*pip, "--no-deps", "-e", ".") != 0:
        sys.exit("pip could not install the pingan package")
    stamp.write_text(digest.hexdigest())


def cmd_run(args: list[str]) -> int:
    ensure_venv("run")
    return sh(BIN / "pingan", "run", *args)


def cmd_lint(args: list[str]) -> int:
    ensure_venv("dev")
    steps = [
        ("ruff", [BIN / "ruff", "check", "src", "tests", "bench", "dev.py"]),
        ("mypy", [BIN / "mypy"]),
        ("import-linter", [BIN / "lint-imports"]),
        ("alembic check", [PY, "-m", "pingan.migrations.check_cli"]),
    ]
    failed = []
    for name, argv in steps:
        say(name)
        if sh(*argv) != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_test(args: list[str]) -> int:
    lint = cmd_lint([])
    say("pytest")
    # One test process per core (pytest-xdist); a later -n in args wins, -n 0 runs in one.
    tests = sh(PY, "-m", "pytest", "-n", "auto", *(args or ["-q"]))
    return lint or tests


def cmd_bench(args: list[str]) -> int:
    ensure_venv("dev")
    rc = 0
    for script in sorted((ROOT / "bench").glob("*/run.py")):
        say(f"bench {script.parent.name}")
        rc |= sh(PY, "-m", f"bench.{script.parent.name}.run", *args)
    return rc


def cmd_install(args: list[str]) -> int:
    ensure_venv("dev")
    return 0


def cmd_lock(args: list[str]) -> int:
    if not PY.exists():
        venv.create(VENV, with_pip=True)
    if not (BIN / "uv").exists() and sh(PY, "-m", "pip", "install", "-q", "uv") != 0:
        sys.exit("could not install uv")
    base = [
        str(BIN / "uv"),
        "pip",
        "compile",
        "pyproject.toml",
        "--universal",
        "--python-version",
        "3.11",
        "--quiet",
        "--no-header",
    ]
    rc = sh(*base, "-o", LOCKS["run"])
    rc |= sh(*base, "--extra", "test", "--extra", "dev", "-c", LOCKS["run"], "-o", LOCKS["dev"])
    return rc


def cmd_help(args: list[str]) -> int:
    print(__doc__)
    for name, text in COMMANDS.items():
        print(f"  python3 dev.py {name:<8} {text}")
    return 0


def main() -> None:
    command, *rest = sys.argv[1:] or ["help"]
    handler = globals().get(f"cmd_{command}")
    if handler is None:
        print(f"unknown command {command!r}\n", file=sys.stderr)
        cmd_help([])
        sys.exit(2)
    sys.exit(handler(rest))


if __name__ == "__main__":
    main()
