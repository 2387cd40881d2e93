# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""make test's steps, timed: python tests/support/steps.py STAGE...

Each STAGE is one or more lanes separated by ``|``, each lane make targets run one after the other; the lanes of a
stage run side by side (on 2 cores, a single-process lane beside another), each step's output printed whole when it
ends. The first failing step stops the run at once, with its make's exit status: the steps running in the other lanes
are stopped (their make and everything it started) and no other step begins. At the end, each step's time and the
total. The make is $MAKE's (the Makefile passes its own), else make.

    python tests/support/steps.py "setup browser java | setup-oldest" matrix "lint sanity ee unit-oldest unit integration-oldest | integration"
"""

import os
import signal
import subprocess
import sys
import threading
import time
from typing import List, Set, Tuple

PRINT = threading.Lock()


class Run:
    """The steps running now, each make in a process group of its own, and whether one has failed (then the others stop)."""

    def __init__(self, make: str) -> None:
        self.make = make
        self.failed = threading.Event()
        self.running: Set[subprocess.Popen] = set()
        self.lock = threading.Lock()

    def stop_all(self) -> None:
        """Stop every running step: its make and what it started (SIGTERM to its process group)."""
        with self.lock:
            for process in self.running:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


def run_step(run: Run, target: str, alone: bool) -> Tuple[str, int, float]:
    """Make ``target``; its output as it comes when ``alone`` in its stage, else whole at its end."""
    started = time.monotonic()
    if alone:
        print(f"== make {target}", flush=True)
    with run.lock:
        if run.failed.is_set():  # another lane failed while this one was between steps
            return target, 0, 0.0
        process = subprocess.Popen([run.make, "--no-print-directory", target], stdout=None if alone else subprocess.PIPE,
                                   stderr=None if alone else subprocess.STDOUT, process_group=0)
        run.running.add(process)
    output, dummy = process.communicate()
    with run.lock:
        run.running.discard(process)
    seconds, stopped = time.monotonic() - started, process.returncode and run.failed.is_set()
    if process.returncode and not stopped:
        run.failed.set()
        run.stop_all()
    with PRINT:
        if not alone:
            sys.stdout.write(f"== make {target}\n{output.decode('utf-8', 'replace')}")
        sys.stdout.write(f"== make {target}: {seconds:.0f} s{', stopped' if stopped else ', failed' if process.returncode else ''}\n")
        sys.stdout.flush()
    return target, 0 if stopped else process.returncode, seconds


def run_lane(run: Run, targets: List[str], alone: bool, results: List[Tuple[str, int, float]]) -> None:
    for target in targets:
        if run.failed.is_set():
            return
        results.append(run_step(run, target, alone))


def main(argv: List[str], make: str = os.environ.get("MAKE") or "make") -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    started, results, run = time.monotonic(), [], Run(make)
    try:
        for stage in argv:
            lanes = [lane.split() for lane in stage.split("|") if lane.split()]
            threads = [threading.Thread(target=run_lane, args=(run, lane, len(lanes) == 1, results)) for lane in lanes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            failed = [result for result in results if result[1]]
            if failed:
                print(f"make {failed[0][0]} failed: see its output above", file=sys.stderr)
                return failed[0][1]
    except KeyboardInterrupt:  # Ctrl-C reaches this process alone: the steps run in process groups of their own
        run.failed.set()
        run.stop_all()
        raise
    print("Each step's time (steps of a stage run side by side):")
    for target, dummy, seconds in results:  # in the order they ended
        print(f"  {target:<20} {seconds:6.0f} s")
    print(f"  {'total':<20} {time.monotonic() - started:6.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
