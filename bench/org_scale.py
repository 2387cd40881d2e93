# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark (not a test): the Organization-wide report from one process, per host, and as bare boto3, in one run.

A moto server in this process holds an AWS Organization of A member accounts (default 200) with U
users each (default 20). Three ways to report on every member:

  (i)   ``ansible-playbook -i org.aws_accounts.yml awssec.mfa.org_report`` (mfa_report_fanout=module, the default):
        awssec.mfa.iam_mfa_org_facts reads every account from one process, 16 at a time
  (ii)  the same with ``-e mfa_report_fanout=hosts -f 8``: iam_mfa_facts on each account host, 8 forks
  (iii) bare boto3 in this process, one account after the other: ListAccounts, then per account AssumeRole and the
        IAM/STS requests (i) sent for it (the server's count by action), with no Ansible and no classification

Each run starts without credential reports (pages and reports as AWS serves them, tests/support/aws_like.py). The
server counts every request; wall seconds cover the whole command. The saved JSON report of (i) and (ii) must hold
every member with its exact counts per status, and (iii) every member's U users. Targets: (i) at least 10 times faster
than (ii), and within 2 times of (iii). See docs/performance.md.

    .venv/bin/python bench/org_scale.py --accounts 200 --users 20
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from bench.report_scale import BIN, ansible_env, create_in_backend, print_columns, realistic_users, verdict  # noqa: E402
from tests.support.demo_account import DemoUser, expected_counts  # noqa: E402
from tests.support.moto_server import CREDENTIALS, MotoServer  # noqa: E402

TARGET_VS_HOSTS = 10.0  # (i) at least 10x faster than (ii)
TARGET_VS_BARE = 2.0  # (i) at most 2x the wall time of (iii)
ROLE = "OrganizationAccountAccessRole"


def keys(url: str, credentials: Optional[Dict] = None) -> Dict:
    credentials = credentials or {"AccessKeyId": CREDENTIALS["AWS_ACCESS_KEY_ID"], "SecretAccessKey": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
    return dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials.get("SessionToken"))


def seed_organization(url: str, accounts: int, users: int) -> Dict[str, List[DemoUser]]:
    """Member accounts named member-NNN, each with its own ``users`` users (straight in moto's backend)."""
    organizations = boto3.client("organizations", **keys(url))
    organizations.create_organization(FeatureSet="ALL")
    now = datetime.now(timezone.utc)
    members = {}
    for index in range(accounts):
        name = f"member-{index:03d}"
        account_id = organizations.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        members[name] = realistic_users(users, seed=index + 1)
        for number, user in enumerate(members[name], 1):
            create_in_backend(user, now, number, account_id)
    return members


def check_report(path: Path, members: Dict[str, List[DemoUser]], mode: str) -> None:
    """Every member in the saved JSON report, with its exact counts per status."""
    today = datetime.now(timezone.utc).date()
    rows = {a["account_name"]: a for a in json.loads(path.read_text())["accounts"]}
    failed = {name: row["error"] for name, row in rows.items() if row["status"] != "ok"}
    if failed or set(rows) != set(members):
        raise SystemExit(f"{mode}: {len(rows)} accounts, failed {failed}, expected {len(members)}")
    for name, users in members.items():
        if rows[name]["summary"]["counts"] != expected_counts(users, today, exclude=())[0]:
            raise SystemExit(f"{mode}: {name} counts {rows[name]['summary']['counts']}, expected {expected_counts(users, today, exclude=())[0]}")


def run_playbook(server: MotoServer, workdir: Path, mode: str, members: Dict[str, List[DemoUser]], options: List[str]) -> Dict:
    report = workdir / f"report-{mode}.json"
    extra = {"mfa_report_aws_endpoint_url": server.url, "mfa_report_formats": [], "mfa_report_save_path": str(report)}
    env = ansible_env(server.url, workdir)
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.minimal"
    command = [str(BIN / "ansible-playbook"), "-i", str(workdir / "org.aws_accounts.yml"), "awssec.mfa.org_report",
               "-e", json.dumps(extra), *options]
    # Pages and a dated credential report per account as AWS serves them; each run starts without any report.
    server.aws_like.reset(paging=True, report=True, report_polls=0)
    server.reset_counts()
    start = time.perf_counter()
    process = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{mode}: ansible-playbook exited {process.returncode}\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}")
    check_report(report, members, mode)
    return {"wall": wall, "calls": server.requests, "actions": server.actions}


def bare_account(url: str, sts, account_id: str, per_account: Dict[str, int]) -> int:
    """What (i) sends for one member, in plain boto3: AssumeRole, then its IAM/STS requests; the users of its report."""
    role = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="bench")["Credentials"]
    iam = boto3.client("iam", **keys(url, role))
    if per_account.get("GetCallerIdentity"):
        boto3.client("sts", **keys(url, role)).get_caller_identity()
    for dummy in range(per_account.get("GenerateCredentialReport", 1)):
        iam.generate_credential_report()
    report = iam.get_credential_report()["Content"].decode()
    for dummy in range(per_account.get("ListVirtualMFADevices", 1)):
        iam.list_virtual_mfa_devices(MaxItems=1000)
    for dummy in range(per_account.get("GetAccountAuthorizationDetails", 1)):
        iam.get_account_authorization_details(MaxItems=1000)
    iam.get_account_summary()
    for dummy in range(per_account.get("ListOrganizationsFeatures", 0)):
        try:
            iam.list_organizations_features()
        except iam.exceptions.ClientError:
            pass
    return sum(1 for row in csv.DictReader(io.StringIO(report)) if row["user"] != "<root_account>")


def run_bare(server: MotoServer, members: Dict[str, List[DemoUser]], per_account: Dict[str, int]) -> Dict:
    server.aws_like.reset(paging=True, report=True, report_polls=0)
    server.reset_counts()
    start = time.perf_counter()
    organizations, sts = boto3.client("organizations", **keys(server.url)), boto3.client("sts", **keys(server.url))
    accounts = organizations.get_paginator("list_accounts").paginate().build_full_result()["Accounts"]
    users = {a["Name"]: bare_account(server.url, sts, a["Id"], per_account) for a in accounts if a["Name"] in members}
    wall = time.perf_counter() - start
    if users != {name: len(listed) for name, listed in members.items()}:
        raise SystemExit(f"bare boto3: users per account {users}")
    return {"wall": wall, "calls": server.requests, "actions": server.actions}


def per_member(actions: collections.Counter, members: int) -> Dict[str, int]:
    """The requests of each kind (i) sent per member (the Organization listing and the management account's aside)."""
    return {action: round(count / members) for action, count in actions.items()
            if action not in ("DescribeOrganization", "ListAccounts", "AssumeRole")}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--accounts", type=int, default=200, help="member accounts (default 200)")
    parser.add_argument("--users", type=int, default=20, help="users in each member account (default 20)")
    parser.add_argument("--forks", type=int, default=8, help="forks of (ii) (default 8)")
    args = parser.parse_args(argv)
    with MotoServer() as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "callback_plugins").mkdir()
        start = time.perf_counter()
        members = seed_organization(server.url, args.accounts, args.users)
        print(f"seeded {args.accounts} accounts of {args.users} users in {time.perf_counter() - start:.1f} s")
        (workdir / "org.aws_accounts.yml").write_text(
            # The member accounts are measured; the management account holds no users here.
            f"plugin: awssec.mfa.aws_accounts\norganization: true\ninclude_management_account: false\nendpoint_url: {server.url}\nregion: us-east-1\n")
        runs = {"(i) org_report, module": run_playbook(server, workdir, "module", members, [])}
        per_account = per_member(runs["(i) org_report, module"]["actions"], args.accounts)
        runs[f"(ii) org_report, hosts, forks {args.forks}"] = run_playbook(server, workdir, "hosts", members,
                                                                           ["-e", "mfa_report_fanout=hosts", "-f", str(args.forks)])
        runs["(iii) bare boto3, sequential"] = run_bare(server, members, per_account)
    print_columns(["approach", "accounts", "users", "API calls", "calls/account", "wall s", "s/account"],
                  [[name, str(args.accounts), str(args.accounts * args.users), f"{run['calls']:,}", f"{run['calls'] / args.accounts:.1f}",
                    f"{run['wall']:.1f}", f"{run['wall'] / args.accounts:.3f}"] for name, run in runs.items()])
    for name, run in runs.items():
        print(f"{name}: " + ", ".join(f"{action} {count}" for action, count in run["actions"].most_common()))
    module, hosts, bare = (run["wall"] for run in runs.values())
    print(f"(i) is {hosts / module:.1f}x faster than (ii) (target >= {TARGET_VS_HOSTS:g}): {verdict(hosts / module >= TARGET_VS_HOSTS)}")
    print(f"(i) takes {module / bare:.2f}x the time of (iii) (target <= {TARGET_VS_BARE:g}): {verdict(module / bare <= TARGET_VS_BARE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
