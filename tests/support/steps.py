# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""make test's steps, timed: python tests/support/steps.py STAGE...

Each STAGE is one or more lanes separated by ``|``, each lane make targets run one after the other; the lanes of a
stage run side by side (on 2 cores, a single-process lane beside another), each step's output printed whole when it
ends. The first failing step stops the run, after the other lanes of its stage, with its make's exit status. At the
end, each step's time and the total. The make is $MAKE's (the Makefile passes its own), else make.

    python tests/support/steps.py "setup browser java | setup-oldest" matrix "lint sanity ee unit-oldest unit integration-oldest | integration"
"""

import os
import subprocess
import sys
import threading
import time
from typing import List, Tuple

PRINT = threading.Lock()


def run_step(make: str, target: str, alone: bool) -> Tuple[str, int, float]:
    """Make ``target``; its output as it comes when ``alone`` in its stage, else whole at its end."""
    started = time.monotonic()
    if alone:
        print(f"== make {target}", flush=True)
    done = subprocess.run([make, "--no-print-directory", target], stdout=None if alone else subprocess.PIPE,
                          stderr=None if alone else subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    with PRINT:
        if not alone:
            sys.stdout.write(f"== make {target}\n{done.stdout.decode('utf-8', 'replace')}")
        sys.stdout.write(f"== make {target}: {seconds:.0f} s{', failed' if done.returncode else ''}\n")
        sys.stdout.flush()
    return target, done.returncode, seconds


def run_lane(make: str, targets: List[str], alone: bool, results: List[Tuple[str, int, float]]) -> None:
    for target in targets:
        results.append(run_step(make, target, alone))
        if results[-1][1]:
            return


def main(argv: List[str], make: str = os.environ.get("MAKE") or "make") -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    started, results = time.monotonic(), []
    for stage in argv:
        lanes = [lane.split() for lane in stage.split("|") if lane.split()]
        threads = [threading.Thread(target=run_lane, args=(make, lane, len(lanes) == 1, results)) for lane in lanes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failed = [result for result in results if result[1]]
        if failed:
            print(f"make {failed[0][0]} failed: see its output above", file=sys.stderr)
            return failed[0][1]
    print("Each step's time (steps of a stage run side by side):")
    for target, dummy, seconds in results:  # in the order they ended
        print(f"  {target:<20} {seconds:6.0f} s")
    print(f"  {'total':<20} {time.monotonic() - started:6.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
