# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark (not a test): MFA enforcement on a large IAM account with a few non-compliant users.

A moto server in this process is seeded with N users (default 5,000), exactly T of them
(default 50) non-compliant targets and all others compliant, then four real ``ansible-playbook``
runs go on localhost, in order:

  (1) awssec.mfa.iam_mfa_facts source=credential_report: gathering alone
  (2) awssec.mfa.iam_mfa_enforce with --check (max_affected: T): must plan T users, change nothing
  (3) awssec.mfa.iam_mfa_enforce (max_affected: T): the enforcement
  (4) the same again: must find nothing to do (changed=false)

API calls are counted by the server; wall seconds cover the whole ansible-playbook run. The
target: (3) makes at most the calls of (1) plus 10 per target. See docs/performance.md.

    .venv/bin/python bench/enforce_scale.py --users 5000 --targets 50
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import os
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from bench.report_scale import (  # noqa: E402
    COLLECTION_LINK,
    PLAYBOOK_HEAD,
    REPORT_PLAYBOOK,
    Run,
    actions_text,
    prepare,
    print_columns,
    run_playbook,
    seed,
    verdict,
)
from tests.support.demo_account import expected_counts  # noqa: E402
from tests.support.moto_server import CREDENTIALS, MotoServer  # noqa: E402

CALLS_PER_TARGET = 10  # the bound: gathering calls + 10 per target

# What enforcement may call for one user (each with UserName), and for the policy, once per run.
USER_ACTIONS = (
    "ListMFADevices", "ListAccessKeys", "GetLoginProfile", "ListAttachedUserPolicies", "ListUserTags",
    "TagUser", "UntagUser", "UpdateAccessKey", "AttachUserPolicy", "DetachUserPolicy", "DeleteLoginProfile",
)
POLICY_ACTIONS = ("GetPolicy", "GetPolicyVersion", "CreatePolicy", "ListPolicyVersions", "CreatePolicyVersion", "DeletePolicyVersion")

ENFORCE_PLAYBOOK = PLAYBOOK_HEAD + """\
    - name: Enforce MFA
      awssec.mfa.iam_mfa_enforce:
        source: credential_report
        max_affected: "{{ max_affected }}"
        endpoint_url: "{{ endpoint_url }}"
      register: enforced
"""


# --- the account's state, read with boto3 -------------------------------------------------------


def iam_client(url: str):
    return boto3.client(
        "iam", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def snapshot(iam, server: MotoServer) -> Dict[str, int]:
    """What enforcement can change, over all users: from moto's own credential report (built when
    asked, from the current state; no user has more than 2 keys), the users' authorization details,
    and the customer managed policies. The modules meanwhile get the AWS-like report, made once."""
    server.aws_like.configure(report=False)
    iam.generate_credential_report()
    rows = list(csv.DictReader(io.StringIO(iam.get_credential_report()["Content"].decode())))
    details = [user for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=["User"]) for user in page["UserDetailList"]]
    local = [policy for page in iam.get_paginator("list_policies").paginate(Scope="Local") for policy in page["Policies"]]
    server.aws_like.configure(report=True)
    return {
        "active access keys": sum(row[f"access_key_{n}_active"] == "true" for row in rows for n in (1, 2)),
        "console passwords": sum(row["password_enabled"] == "true" for row in rows),
        "users with MFA": sum(row["mfa_active"] == "true" for row in rows),
        "attached managed policies": sum(len(user.get("AttachedManagedPolicies", [])) for user in details),
        "users tagged awssec:mfa-*": sum(any(tag["Key"].startswith("awssec:mfa-") for tag in user.get("Tags", [])) for user in details),
        "customer managed policies": len(local),
    }


class PerUser:
    """Counts the server's calls to USER_ACTIONS by UserName (a server hook that never answers an error)."""

    def __init__(self, server: MotoServer):
        self.lock = threading.Lock()
        self.counts: collections.Counter = collections.Counter()
        for action in USER_ACTIONS:
            server.before(action, self.hook)

    def hook(self, params: Dict[str, str]) -> None:
        with self.lock:
            self.counts[params.get("UserName", "?")] += 1

    def take(self) -> collections.Counter:
        """The counts since the last take."""
        with self.lock:
            counts, self.counts = self.counts, collections.Counter()
        return counts


def spread(counts: collections.Counter) -> str:
    """``{user: calls}`` as "calls x users", e.g. "7 x 17, 8 x 19"."""
    return ", ".join(f"{calls} x {users}" for calls, users in sorted(collections.Counter(counts.values()).items())) or "none"


# --- report ------------------------------------------------------------------------------------


def gathering_part(run: Run, gathering: Run) -> int:
    """Calls of ``run`` to the actions that gathering alone made (the rest act on targets)."""
    return sum(run.actions[action] for action in gathering.actions)


def run_cells(label: str, run: Run, gathering: Run, targets: int, per_user: Optional[collections.Counter], note: str) -> List[str]:
    beyond = run.api_calls - gathering.api_calls
    first = run is gathering
    return [
        label, f"{run.api_calls:,}", str(run.tasks[0]["api_calls"]), "-" if first else f"{beyond:,}",
        "-" if first else f"{beyond / targets:.2f}", "-" if first else str(max(per_user.values(), default=0)),
        f"{run.wall:.1f}", f"{run.task_seconds(0):.1f}", note,
    ]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--users", type=int, default=5000, help="users to seed (default 5000)")
    parser.add_argument("--targets", type=int, default=50, help="non-compliant users among them (default 50)")
    args = parser.parse_args(argv)
    if not COLLECTION_LINK.exists():
        raise SystemExit(f"{COLLECTION_LINK} is missing: run `make setup` first")
    if not 0 < args.targets <= args.users:
        raise SystemExit("--targets must be between 1 and --users")
    users, targets = args.users, args.targets

    with MotoServer() as server, tempfile.TemporaryDirectory(prefix="awssec-bench-") as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        seeded = seed(server, users, non_compliant=targets)
        today = datetime.now(timezone.utc).date()
        expected = expected_counts(seeded, today)[0]
        target_names = {user.name for user in seeded if user.expected_status(today) == "non-compliant"}
        print(f"Expected statuses: {expected}")
        iam = iam_client(server.url)
        # The server pages and serves a dated, cached report like AWS (tests/support/aws_like.py). The report is
        # generated before the first run, so that every run below finds it ready (no 2 s poll).
        server.aws_like.reset(paging=True, report=True, report_polls=0)
        while iam.generate_credential_report()["State"] != "COMPLETE":
            pass
        states = {"before": snapshot(iam, server)}
        per_user = PerUser(server)
        extra = {"endpoint_url": server.url, "max_affected": targets}

        print("\n(1) iam_mfa_facts source=credential_report (gathering alone) ...", flush=True)
        gathering = run_playbook(server, workdir, "gather", REPORT_PLAYBOOK.format(source="credential_report", options=""), extra)
        print(f"    {gathering.wall:.1f} s; server: {actions_text(gathering.actions)}")
        print(f"(2) iam_mfa_enforce --check, max_affected {targets} ...", flush=True)
        check = run_playbook(server, workdir, "check", ENFORCE_PLAYBOOK, extra, options=["--check"])
        users_check = per_user.take()
        states["after (2) check"] = snapshot(iam, server)
        print(f"    {check.wall:.1f} s; server: {actions_text(check.actions)}")
        print(f"(3) iam_mfa_enforce, max_affected {targets} ...", flush=True)
        apply = run_playbook(server, workdir, "apply", ENFORCE_PLAYBOOK, extra)
        users_apply = per_user.take()
        states["after (3) apply"] = snapshot(iam, server)
        print(f"    {apply.wall:.1f} s; server: {actions_text(apply.actions)}")
        print("(4) iam_mfa_enforce again ...", flush=True)
        again = run_playbook(server, workdir, "again", ENFORCE_PLAYBOOK, extra)
        users_again = per_user.take()
        states["after (4) again"] = snapshot(iam, server)
        print(f"    {again.wall:.1f} s; server: {actions_text(again.actions)}")

    planned = check.tasks[0]["summary"]["users_affected"]
    done = apply.tasks[0]["summary"]
    print(f"\nResults at {users} users, {targets} targets ({os.cpu_count()} CPUs; API calls counted by the server; wall = whole ansible-playbook run)\n")
    print_columns(
        ["run", "API calls", "module", "beyond (1)", "per target", "max/user", "wall s", "task s", "outcome"],
        [
            run_cells("(1) iam_mfa_facts (gathering)", gathering, gathering, targets, None, f"{gathering.tasks[0]['counts']['non-compliant']} non-compliant"),
            run_cells("(2) iam_mfa_enforce --check", check, gathering, targets, users_check, f"planned {planned} users, changed={check.tasks[0]['changed']}"),
            run_cells(
                "(3) iam_mfa_enforce", apply, gathering, targets, users_apply,
                f"{done['users_affected']} users affected, {done['keys_disabled']} keys disabled, {done['policies_attached']} policies attached",
            ),
            run_cells(
                "(4) iam_mfa_enforce again", again, gathering, targets, users_again,
                f"changed={again.tasks[0]['changed']}, {again.tasks[0]['summary']['users_affected']} users affected, {len(users_again)} re-read",
            ),
        ],
        left=(0, 8),
    )
    print(
        "\nAPI calls: served by the server; module: the module's own api_calls; beyond (1): API calls minus (1)'s; "
        "per target: that divided by the targets; max/user: most calls with one UserName."
    )

    print("\nAccount state (boto3: credential report, GetAccountAuthorizationDetails, ListPolicies Scope=Local)\n")
    names = list(states["before"])
    print_columns(["", *states], [[name, *(str(state[name]) for state in states.values())] for name in names])

    print("\nServer calls per action, (3) iam_mfa_enforce:")
    for action, count in apply.actions.most_common():
        part = "gathering" if action in gathering.actions else "policy, once per run" if action in POLICY_ACTIONS else f"{count / targets:.2f} per target"
        print(f"  {action:<32} {count:>6}   {part}")
    for label, run, counts in (("(2)", check, users_check), ("(3)", apply, users_apply), ("(4)", again, users_again)):
        inside = gathering_part(run, gathering)
        policy = sum(run.actions[action] for action in POLICY_ACTIONS)
        print(
            f"{label} gathering {inside} (same as (1): {inside == gathering.api_calls}), policy {policy}, "
            f"per user {sum(counts.values())} on {len(counts)} users (calls x users: {spread(counts)})"
        )

    bound = gathering.api_calls + CALLS_PER_TARGET * targets
    statuses = gathering.tasks[0]["counts"]
    unchanged = states["after (2) check"] == states["before"]
    keys_off = states["before"]["active access keys"] - states["after (3) apply"]["active access keys"]
    attached = states["after (3) apply"]["attached managed policies"] - states["before"]["attached managed policies"]
    most = max(users_apply.values(), default=0)
    called = set(users_apply)
    print()
    for label, value, target, ok in [
        ("(1) statuses as seeded", "{non-compliant}/{compliant}".format(**statuses), "{non-compliant}/{compliant}".format(**expected), statuses == expected),
        ("(2) planned users", str(planned), f"== {targets}", planned == targets),
        ("(2) account unchanged (boto3)", str(unchanged), "True", unchanged),
        ("(3) API calls", f"{apply.api_calls:,}", f"<= {gathering.api_calls} + {CALLS_PER_TARGET}*{targets} = {bound:,}", apply.api_calls <= bound),
        ("(3) users called: targets/all", f"{len(called & target_names)}/{len(called)}", f"{targets}/{targets}", called == target_names),
        ("(3) most calls for one user", str(most), f"<= {CALLS_PER_TARGET}", most <= CALLS_PER_TARGET),
        ("(3) users affected", str(done["users_affected"]), f"== {targets}", done["users_affected"] == targets),
        ("(3) keys disabled (module = boto3)", f"{done['keys_disabled']} = {keys_off}", "equal", done["keys_disabled"] == keys_off),
        ("(3) policies attached (module = boto3)", f"{done['policies_attached']} = {attached}", "equal", done["policies_attached"] == attached),
        ("(4) changed", str(again.tasks[0]["changed"]), "False", not again.tasks[0]["changed"]),
    ]:
        print(f"{label:<40} {value:>12}   target {target:<22} {verdict(ok)}")
    if (users, targets) != (5000, 50):
        print("(the requirement is set for 5,000 users with 50 targets)")
    print("Served by the AWS-like server: IAM pages of 100 unless asked for more (at most 1,000), the credential report generated, dated and cached.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
