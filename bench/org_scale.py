# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark (not a test): the Organization-wide report with forks 1 and forks 8, in one run.

A moto server in this process holds an AWS Organization of A member accounts (default 24) with U
users each (default 200). The real ``ansible-playbook awssec.mfa.org_report`` runs against the
``awssec.mfa.aws_accounts`` inventory (organization: true), once with ``-f 1`` and once with
``-f 8``; each run's saved JSON report must hold every account with its U users. Wall seconds
cover the whole ansible-playbook run. The target: forks 8 at least 2 times faster than forks 1.
See docs/performance.md.

    .venv/bin/python bench/org_scale.py --accounts 24 --users 200
"""

from __future__ import annotations

import argparse
import json
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

from bench.report_scale import BIN, ansible_env, create_in_backend, print_columns, realistic_users, verdict  # noqa: E402
from tests.support.moto_server import CREDENTIALS, MotoServer  # noqa: E402

TARGET_RATIO = 2.0


def seed_organization(url: str, accounts: int, users: int) -> List[str]:
    keys = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    organizations = boto3.client("organizations", **keys)
    organizations.create_organization(FeatureSet="ALL")
    now = datetime.now(timezone.utc)
    ids = []
    for index in range(accounts):
        account_id = organizations.create_account(Email=f"member-{index:02d}@example.com", AccountName=f"member-{index:02d}")[
            "CreateAccountStatus"]["AccountId"]
        for number, user in enumerate(realistic_users(users, seed=index + 1), 1):
            create_in_backend(user, now, number, account_id)
        ids.append(account_id)
    return ids


def run_report(url: str, workdir: Path, forks: int, accounts: int, users: int) -> float:
    report = workdir / f"report-f{forks}.json"
    extra = {"mfa_report_aws_endpoint_url": url, "mfa_report_formats": [], "mfa_report_save_path": str(report)}
    env = ansible_env(url, workdir)
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.minimal"
    command = [str(BIN / "ansible-playbook"), "-i", str(workdir / "org.aws_accounts.yml"), "awssec.mfa.org_report",
               "-f", str(forks), "-e", json.dumps(extra)]
    start = time.perf_counter()
    process = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"forks {forks}: ansible-playbook exited {process.returncode}\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}")
    facts = json.loads(report.read_text())
    totals = sorted(a["summary"]["total"] for a in facts["accounts"] if a["status"] == "ok")
    if totals != [users] * accounts:
        raise SystemExit(f"forks {forks}: the report holds {totals}, expected {accounts} accounts of {users} users")
    return wall


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--accounts", type=int, default=24)
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args(argv)
    with MotoServer() as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "callback_plugins").mkdir()
        start = time.perf_counter()
        seed_organization(server.url, args.accounts, args.users)
        print(f"seeded {args.accounts} accounts of {args.users} users in {time.perf_counter() - start:.1f} s")
        (workdir / "org.aws_accounts.yml").write_text(
            # The member accounts are measured; the management account holds no users here.
            f"plugin: awssec.mfa.aws_accounts\norganization: true\ninclude_management_account: false\nendpoint_url: {server.url}\nregion: us-east-1\n")
        walls = {}
        for forks in (1, 8):
            # Pages and a dated credential report as AWS serves them (tests/support/aws_like.py); each run starts without one.
            server.aws_like.reset(paging=True, report=True, report_polls=0)
            walls[forks] = run_report(server.url, workdir, forks, args.accounts, args.users)
    ratio = walls[1] / walls[8]
    print_columns(["forks", "accounts", "users", "wall s", "s/account"],
                  [[str(f), str(args.accounts), str(args.accounts * args.users), f"{w:.1f}", f"{w / args.accounts:.2f}"] for f, w in walls.items()])
    print(f"forks 8 is {ratio:.2f}x faster than forks 1 (target >= {TARGET_RATIO:g}): {verdict(ratio >= TARGET_RATIO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
