# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``make demo``: a moto server with the demo account, ``ansible-playbook awssec.mfa.report`` against it.

Prints the report, then checks that its counts are those of the users the demo created.
``make demo-server`` (``--serve``) keeps the server running instead and prints the exports that reach it;
``make demo-server PORT=N`` (``--port N``) serves on port N of 127.0.0.1 rather than on a free one.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timezone

import boto3

from tests.support.demo_account import EXCLUDE_USERS, expected_counts, seed_demo_account
from tests.support.moto_server import ACCOUNT_ID, CREDENTIALS, MotoServer, aws_env


def exports(url: str) -> str:
    """The shell lines that point every tool (botocore reads AWS_ENDPOINT_URL) at the server, with its credentials."""
    variables = dict(CREDENTIALS, AWS_ENDPOINT_URL=url)
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in variables.items())


def _seed(server: MotoServer, organization: bool = False) -> list:
    """The demo account; with ``organization``, as the management account of an Organization of its own, so that the
    README's Organization commands (the aws_accounts inventory with organization: true, org_report) work against it."""
    settings = {"organizations_management": ACCOUNT_ID} if organization else {}
    server.aws_like.reset(paging=True, report=True, report_polls=0, **settings)  # pages and a dated credential report, as on AWS
    keys = {"region_name": "us-east-1", "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
    users = seed_demo_account(boto3.client("iam", endpoint_url=server.url, **keys))
    if organization:
        boto3.client("organizations", endpoint_url=server.url, **keys).create_organization(FeatureSet="ALL")
    owner = ", the management account of an Organization of its own" if organization else ""
    print(f"Demo account: {len(users)} users on a moto server at {server.url}{owner}", flush=True)
    return users


class DemoServer(MotoServer):
    """The moto server on ``port`` (0: a free one); a port it cannot listen on is an error, not a wait for ever."""

    def __init__(self, port: int = 0):
        super().__init__()
        self._port = port
        self.error = None

    def _server_entry(self):
        try:
            super()._server_entry()
        except (OSError, SystemExit) as e:  # werkzeug says why (a port in use) and exits; start() waits for the event below
            self.error = e
            self._server_ready_event.set()

    def refused(self) -> bool:
        """Whether the port was refused (said on stderr)."""
        if self.error:
            why = f": {self.error.strerror}" if isinstance(self.error, OSError) and self.error.strerror else ""
            print(f"error: the demo server could not listen on 127.0.0.1:{self._port}{why}", file=sys.stderr)
        return self.error is not None


def serve(port: int = 0) -> int:
    # Ctrl-C stops it even when it was started with SIGINT ignored (a background job of a script, make under CI, a test
    # runner's worker): Python installs its KeyboardInterrupt handler only over the default disposition.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with DemoServer(port) as server:
        if server.refused():
            return 1
        _seed(server, organization=True)
        print("In another shell, run these, then any command of the README (Ctrl-C here stops the server):\n", flush=True)
        print(exports(server.url) + "\n", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("Stopped.")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.demo", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--serve", action="store_true", help="keep the server running (Ctrl-C stops it) and print the exports that reach it")
    parser.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"argument --port: {args.port} is not a port (0 to 65535)")
    if args.serve:
        return serve(args.port)
    with DemoServer(args.port) as server, tempfile.TemporaryDirectory() as tmp:
        if server.refused():
            return 1
        users = _seed(server)
        saved = os.path.join(tmp, "mfa-report.json")
        extra = {"mfa_report_exclude_users": EXCLUDE_USERS, "mfa_report_save_path": saved}
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
