# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``make demo``: a moto server with the demo account, ``ansible-playbook awssec.mfa.report`` against it.

Prints the report, then checks that its counts are those of the users the demo created.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

import boto3

from tests.support.demo_account import EXCLUDE_USERS, expected_counts, seed_demo_account
from tests.support.moto_server import CREDENTIALS, MotoServer, aws_env


def main() -> int:
    with MotoServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.aws_like.reset(paging=True, report=True, report_polls=0)  # pages and a dated credential report, as on AWS
        iam = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1",
                           aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        users = seed_demo_account(iam)
        print(f"Demo account: {len(users)} users on a moto server at {server.url}", flush=True)
        saved = os.path.join(tmp, "mfa-report.json")
        extra = {"mfa_report_aws_endpoint_url": server.url, "mfa_report_exclude_users": EXCLUDE_USERS, "mfa_report_save_path": saved}
        run = subprocess.run(["ansible-playbook", "awssec.mfa.report", "-e", json.dumps(extra)], env=aws_env(server.url), check=False)
        if run.returncode != 0:
            print("ansible-playbook awssec.mfa.report failed", file=sys.stderr)
            return run.returncode
        with open(saved, encoding="utf-8") as f:
            report = json.load(f)
    expected = expected_counts(users, datetime.now(timezone.utc).date())[0]
    got = report["summary"]["counts"]
    if got != expected:
        print(f"MISMATCH: the report counts {got}, the demo created {expected}", file=sys.stderr)
        return 1
    print(f"The report's counts match the users the demo created: {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
