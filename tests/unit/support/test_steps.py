# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""make test's runner of timed steps: lanes side by side, each step timed, the first failure stops the run at once."""

import os
import subprocess
import sys
import time
from pathlib import Path

STEPS = Path(__file__).resolve().parents[2] / "support" / "steps.py"
MAKEFILE = """\
slow:
\t@for i in $$(seq 100); do [ "$$(grep -c quick log 2>/dev/null)" = 2 ] && break; sleep 0.1; done; echo slow done >> log
quick:
\t@echo quick done >> log
bad:
\t@echo bad ran >> log; exit 3
after:
\t@echo after ran >> log
endless:
\t@echo $$$$ > endless.pid; sleep 60; echo endless done >> log
started:
\t@for i in $$(seq 100); do [ -s endless.pid ] && break; sleep 0.1; done
"""


def steps(tmp_path, *stages):
    (tmp_path / "Makefile").write_text(MAKEFILE)
    return subprocess.run([sys.executable, str(STEPS), *stages], cwd=tmp_path, capture_output=True, text=True, check=False)


def test_lanes_run_side_by_side_and_every_step_is_timed(tmp_path):
    done = steps(tmp_path, "slow | quick quick", "after")
    assert done.returncode == 0, done.stderr
    # slow waits (10 s at most) for the other lane's two steps: they ran beside it, or it would have ended first
    assert (tmp_path / "log").read_text().splitlines() == ["quick done", "quick done", "slow done", "after ran"]
    table = done.stdout[done.stdout.index("Each step's time"):].splitlines()[1:]
    # In the order the threads saw them end: slow may be seen ending before the second quick's make has been reaped.
    names = [line.split()[0] for line in table]
    assert sorted(names[:3]) == ["quick", "quick", "slow"] and names[3:] == ["after", "total"]
    assert all(line.split()[1].isdigit() for line in table) and "== make after: " in done.stdout


def gone(pid: int) -> bool:
    """The process has ended (a zombie has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_first_failure_stops_the_other_lanes_at_once_and_the_run_with_its_status(tmp_path):
    done = steps(tmp_path, "endless after | started bad quick", "after")
    assert done.returncode != 0 and "make bad failed" in done.stderr and "bad: 0 s, failed" in done.stdout.replace("make bad", "bad")
    assert "endless: 0 s, stopped" in done.stdout.replace("make endless", "endless")  # stopped, not waited for 60 s
    # Nor the failing lane's next step, nor the other lane's, nor the next stage; the step's shell was stopped with its make.
    assert (tmp_path / "log").read_text().splitlines() == ["bad ran"]
    pid = int((tmp_path / "endless.pid").read_text())
    deadline = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(pid), f"the stopped step's shell {pid} still runs"
    if not gone(pid):  # pragma: no cover - the assertion above failed: leave no process behind
        os.kill(pid, 9)
