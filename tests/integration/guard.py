# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MFA guard under the real ansible-rulebook, and by hand: starting and stopping it, what it recorded, the queue."""

import json
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime, timezone

import boto3
import pytest
import yaml

from tests.integration.conftest import BIN
from tests.support.demo_account import create_user
from tests.support.moto_server import CREDENTIALS


def guard_account(moto_server, iam, users):
    """The ``users`` made in the account, dora.lost's MFA device deactivated (she is among them), and an empty queue:
    (an SQS client, the queue's URL)."""
    now = datetime.now(timezone.utc)
    for number, user in enumerate(users):
        create_user(iam, user, now, number)
    serial = iam.list_mfa_devices(UserName="dora.lost")["MFADevices"][0]["SerialNumber"]
    iam.deactivate_mfa_device(UserName="dora.lost", SerialNumber=serial)
    sqs = boto3.client("sqs", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    return sqs, sqs.create_queue(QueueName=f"iam-changes-{time.monotonic_ns()}")["QueueUrl"]


def java_found(env) -> bool:
    """ansible-rulebook's rules engine runs in Java 17 or later, found through JAVA_HOME or java on PATH."""
    if env.get("JAVA_HOME"):
        return os.path.exists(os.path.join(env["JAVA_HOME"], "bin", "java"))
    return shutil.which("java", path=env.get("PATH")) is not None


def start(env, tmp_path, url, enforce, visibility_timeout=300, concurrency=None, settings=None, findings=None, batch_size=None):
    """ansible-rulebook with the collection's rulebook, in a process group of its own (its playbooks run under it);
    ``concurrency``: its -m, the most playbooks it runs at once; ``settings``: more of localhost's variables (the
    playbook's settings); ``findings``: the findings file (tmp_path/findings.jsonl); ``batch_size``: the rulebook's
    mfa_guard_batch_size (its default, 100, unless given)."""
    if not java_found(env):
        pytest.fail("ansible-rulebook needs Java 17 or later, and none was found (no JAVA_HOME, no java on PATH): "
                    "install a JRE 17+ (Debian: openjdk-17-jre-headless) or set JAVA_HOME")
    findings = findings or tmp_path / "findings.jsonl"
    variables = tmp_path / "guard-vars.yml"
    variables.write_text(yaml.safe_dump({"mfa_guard_queue_url": url, "mfa_guard_visibility_timeout": visibility_timeout,
                                         **({"mfa_guard_batch_size": batch_size} if batch_size else {})}))
    inventory = tmp_path / "guard-inventory.yml"  # the playbook's settings: localhost's variables
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "mfa_guard_enforce": enforce, "mfa_guard_findings_path": str(findings), **(settings or {})}}}}))
    log = open(tmp_path / f"rulebook-{time.monotonic_ns()}.log", "w")  # pylint: disable=consider-using-with
    process = subprocess.Popen([str(BIN / "ansible-rulebook"), "-r", "awssec.mfa.mfa_guard", "-i", str(inventory),
                                "--vars", str(variables), "-v", *(["-m", str(concurrency)] if concurrency else [])],
                               env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process, findings, log


def stop(process, sig=signal.SIGTERM):
    os.killpg(process.pid, sig)
    process.wait(timeout=60)


def read_findings(findings):
    return [json.loads(line) for line in findings.read_text().splitlines()] if findings.exists() else []


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def queue_counts(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def guarded(iam, name):
    """Whether enforcement left its policy (refusing requests without MFA) on the user."""
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    return bool(attached or iam.list_user_policies(UserName=name)["PolicyNames"])
