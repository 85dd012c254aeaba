"""The ``pingan`` command as a user runs it (a real subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def _pingan(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINGAN_DATA_DIR": str(data_dir), "PINGAN_LANG": "en"}
    env.pop("PINGAN_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "pingan", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    out = _pingan("--help", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    for command in ("run", "serve", "worker", "db", "city", "user", "audit", "sim"):
        assert command in out.stdout


def test_db_upgrade_creates_the_embedded_database(tmp_path: Path) -> None:
    out = _pingan("db", "upgrade", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "pingan.db").exists()
    current = _pingan("db", "current", data_dir=tmp_path)
    assert current.returncode == 0
    revs = current.stdout.split()
    assert revs[1] == revs[3] and revs[1] != "None"  # current == head


def test_sim_run_reports_a_day(tmp_path: Path) -> None:
    assert _pingan("db", "upgrade", data_dir=tmp_path).returncode == 0
    out = _pingan("sim", "run", "--hours", "6", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "6.0 simulated hours" in out.stdout
    # one heartbeat per top of the hour inside the six hours (five if it started on the hour)
    assert re.search(r"clock: [56] \(failed 0\)", out.stdout), out.stdout
