# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark (not a test): the MFA guard handling a burst of IAM changes.

A moto server in this process holds E users (default 1,000), each given a console password (its
CreateLoginProfile message waits in an SQS queue of the same server): a third past the grace period
without MFA (reported), a third in the grace period, a third with MFA (both left alone). The real
``ansible-rulebook -r awssec.mfa.mfa_guard`` then runs until every message is handled (its finding
recorded, the message deleted), in batches of at most ``--batch-size`` changes (the rulebook's
mfa_guard_batch_size), running at most ``--concurrency`` playbooks at once (its -m). Then one more
user's change arrives alone, and is timed until handled. Printed: the wall time of the burst, per event,
the events handled more than once (delivered again: there must be none), the lone change's latency, and
the requests the server served per event by action (the event source's receives and deletes included,
the benchmark's own polling of the queue's counts left out). Every finding must carry the verdict
expected from what was created. See docs/performance.md.

    .venv/bin/python bench/guard_scale.py --events 1000 --concurrency 2
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import yaml  # noqa: E402

from bench.report_scale import BIN, ansible_env, print_columns  # noqa: E402
from tests.support.demo_account import DemoUser, create_user  # noqa: E402
from tests.support.iam_events import message  # noqa: E402
from tests.support.moto_server import CREDENTIALS, MotoServer  # noqa: E402


def burst(count: int) -> List[DemoUser]:
    """``count`` users with a console password: by turns past the grace period without MFA, in it, with MFA."""
    kinds = [dict(age_days=30), dict(age_days=2), dict(age_days=30, mfa="virtual")]
    return [DemoUser(f"burst.{number:05d}", console=True, **kinds[number % 3]) for number in range(count)]


def handled_users(findings: Path) -> set:
    """The users of the findings recorded so far."""
    return {json.loads(line)["user"] for line in findings.read_text().splitlines()} if findings.exists() else set()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--events", type=int, default=1000, help="IAM changes in the queue (default 1000)")
    parser.add_argument("--concurrency", type=int, default=2, help="playbooks at once, ansible-rulebook's -m (default 2)")
    parser.add_argument("--batch-size", type=int, default=100, help="changes per playbook run, mfa_guard_batch_size (default 100)")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds to wait for them all (default 4 h)")
    args = parser.parse_args(argv)
    users = burst(args.events)
    lone = DemoUser("lone.00000", 30, console=True)  # its change comes after the burst, alone: reported
    with MotoServer() as server, tempfile.TemporaryDirectory(prefix="awssec-bench-") as tmp:
        workdir = Path(tmp)
        keys = dict(endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        iam, sqs = boto3.client("iam", **keys), boto3.client("sqs", **keys)
        now = datetime.now(timezone.utc)
        for number, user in enumerate(users + [lone]):
            create_user(iam, user, now, number)
        url = sqs.create_queue(QueueName="iam-changes")["QueueUrl"]
        for first in range(0, len(users), 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": message("CreateLoginProfile", request={"userName": u.name})}
                                                          for i, u in enumerate(users[first:first + 10])])
        findings = workdir / "findings.jsonl"
        (workdir / "guard-vars.yml").write_text(yaml.safe_dump({"mfa_guard_queue_url": url, "mfa_guard_batch_size": args.batch_size}))
        (workdir / "guard-inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "mfa_guard_findings_path": str(findings)}}}}))
        env = ansible_env(server.url, workdir)
        for name in ("ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_STDOUT_CALLBACK"):
            env.pop(name)
        env["HOME"] = str(workdir)
        print(f"{len(users)} users and their CreateLoginProfile messages in the queue; ansible-rulebook -r awssec.mfa.mfa_guard "
              f"-m {args.concurrency} ...", flush=True)
        server.reset_counts()
        start = time.perf_counter()
        with open(workdir / "rulebook.log", "w") as log:
            process = subprocess.Popen([str(BIN / "ansible-rulebook"), "-r", "awssec.mfa.mfa_guard", "-i", str(workdir / "guard-inventory.yml"),
                                        "--vars", str(workdir / "guard-vars.yml"), "-m", str(args.concurrency)],
                                       env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            handled, last_print = 0, start
            while time.perf_counter() - start < args.timeout and process.poll() is None:
                handled = len(handled_users(findings))
                if handled >= len(users) and not int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
                        "ApproximateNumberOfMessagesNotVisible"]):
                    break
                if time.perf_counter() - last_print > 60:
                    print(f"    {handled} handled after {time.perf_counter() - start:.0f} s", flush=True)
                    last_print = time.perf_counter()
                time.sleep(0.5)
            wall = time.perf_counter() - start
            # One more change, alone: how long until it is handled.
            sent = time.perf_counter()
            sqs.send_message(QueueUrl=url, MessageBody=message("CreateLoginProfile", request={"userName": lone.name}))
            while time.perf_counter() - sent < 300 and lone.name not in handled_users(findings) and process.poll() is None:
                time.sleep(0.2)
            latency = time.perf_counter() - sent if lone.name in handled_users(findings) else None
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        actions = server.actions
        del actions["AmazonSQS.GetQueueAttributes"]  # the benchmark's own polling
        records = [json.loads(line) for line in findings.read_text().splitlines()] if findings.exists() else []
    records = [r for r in records if r["user"] != lone.name]
    if len({r["user"] for r in records}) < len(users):
        raise SystemExit(f"only {len({r['user'] for r in records})} of {len(users)} events handled in {wall:.0f} s")
    expected = {u.name: (u.age_days >= 7 and not u.mfa) for u in users}
    wrong = [r["user"] for r in records if r["act"] != expected[r["user"]]]
    if wrong:
        raise SystemExit(f"wrong verdicts for {len(wrong)} users, e.g. {wrong[:5]}")
    acted = sum(1 for r in records if r["act"])
    print(f"\n{len(users):,} events, {acted:,} users reported and {len(users) - acted:,} left alone; every verdict as created\n")
    print_columns(["events", "batch", "at once", "wall s", "s per event", "handled again", "lone change s", "requests", "per event"],
                  [[f"{len(users):,}", str(args.batch_size), str(args.concurrency), f"{wall:,.1f}", f"{wall / len(users):.3f}",
                    f"{len(records) - len(users):,}", "not handled" if latency is None else f"{latency:.1f}",
                    f"{sum(actions.values()):,}", f"{sum(actions.values()) / len(users):.1f}"]])
    print("\nrequests per event, by action: " + ", ".join(f"{name} {count / len(users):.2f}" for name, count in collections.Counter(actions).most_common()))
    if len(records) > len(users) or latency is None:
        raise SystemExit(f"{len(records) - len(users)} events handled more than once; the lone change {'not handled' if latency is None else 'handled'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
