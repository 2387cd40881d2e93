# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MFA guard end to end: the real ansible-rulebook runs the collection's rulebook awssec.mfa.mfa_guard against an SQS
queue of the moto server, fed the CloudTrail-shaped EventBridge messages of IAM calls; its playbook re-reads each user,
reports (or enforces on) those left without MFA, records every finding and deletes each message once handled."""

import json
import signal
import threading
import time

import boto3
import pytest

from tests.integration.conftest import adhoc_result, run
from tests.integration.guard import guard_account, guarded, queue_counts, read_findings, start, stop, wait_for
from tests.support.demo_account import EXEMPT_TAG, DemoUser
from tests.support.iam_events import message
from tests.support.moto_server import CREDENTIALS

USERS = [
    DemoUser("pat.new", 30, console=True),  # given a console password, no MFA, past the grace period: reported
    DemoUser("gina.fresh", 2, console=True),  # in the grace period: left alone
    DemoUser("ezra.exempt", 60, console=True, tags={EXEMPT_TAG: "break-glass user; until=2099-12-31"}),  # exempted: left alone
    DemoUser("dora.lost", 400, mfa="virtual", console=True),  # deactivates her MFA device: reported
]
EVENTS = [
    ("CreateLoginProfile", {"userName": "pat.new", "passwordResetRequired": True}),
    ("CreateLoginProfile", {"userName": "gina.fresh", "passwordResetRequired": True}),
    ("CreateLoginProfile", {"userName": "ezra.exempt", "passwordResetRequired": True}),
    ("DeactivateMFADevice", {"userName": "dora.lost", "serialNumber": "arn:aws:iam::123456789012:mfa/dora.lost"}),
]
REPORTED = {"pat.new", "dora.lost"}


@pytest.fixture
def account(moto_server, iam):
    """The four users, dora's MFA device deactivated (as the event says), and a queue holding the four events."""
    sqs, url = guard_account(moto_server, iam, USERS)
    for action, request in EVENTS:
        sqs.send_message(QueueUrl=url, MessageBody=message(action, request=request, caller="admin"))
    return sqs, url


@pytest.mark.parametrize("enforce", [pytest.param(False, marks=pytest.mark.both_ends("rulebook:mfa_guard.yml")), True])
def test_within_a_minute_the_users_left_without_mfa_are_reported_and_the_others_left_alone(account, env, iam, tmp_path, enforce, moto_server):
    sqs, url = account
    moto_server.reset_counts()
    process, findings, log = start(env, tmp_path, url, enforce)
    try:
        # The minute starts when the guard first receives, not when its JVM starts (slower while another test runs).
        listening = wait_for(lambda: moto_server.actions["AmazonSQS.ReceiveMessage"] > 0, 180)
        done = listening and wait_for(lambda: len(read_findings(findings)) >= len(EVENTS) and queue_counts(sqs, url) == (0, 0), 60)
    finally:
        stop(process)
        log.close()
    assert listening, f"the guard never received within 180 s: {open(log.name).read()[-5000:]}"
    assert done, f"not all handled within 60 s of the first receive: {read_findings(findings)}\n{open(log.name).read()[-5000:]}"
    found = {f["user"]: f for f in read_findings(findings)}
    assert {name for name, f in found.items() if f["act"]} == REPORTED
    assert "grace period" in found["gina.fresh"]["why"] and "exempted (break-glass user until 2099-12-31)" in found["ezra.exempt"]["why"]
    assert found["dora.lost"]["action"] == "DeactivateMFADevice" and "console_without_mfa" in found["dora.lost"]["reasons"]
    assert all(f["enforce"] is enforce for f in found.values())
    # Enforced only when asked, and only on the users reported.
    assert {u.name for u in USERS if guarded(iam, u.name)} == (REPORTED if enforce else set())


def test_a_burst_waits_in_the_queue_not_in_the_rulebook(account, env, tmp_path):
    """The rulebook takes no more batches than it runs at once (and one waiting, and the one the source gathers): the
    rest stay in the queue, and are not delivered again for having waited in the rulebook past the visibility timeout."""
    sqs, url = account
    for dummy in range(3):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": message("CreateLoginProfile", request={"userName": "gina.fresh"})}
                                                      for i in range(10)])
    process, findings, log = start(env, tmp_path, url, enforce=False, concurrency=2, batch_size=3)
    try:
        assert wait_for(lambda: len(read_findings(findings)) >= 1, 180), open(log.name).read()[-5000:]
        samples = []  # (waiting in the queue, received and not yet deleted) while the burst is handled
        for dummy in range(6):
            samples.append(queue_counts(sqs, url))
            time.sleep(0.5)
        running = process.poll() is None
    finally:
        stop(process)
        log.close()
    # Sampled while it ran: some changes in hand, the rest of the burst still waiting in the queue (not in the rulebook) ...
    assert running and all(waiting > 0 and in_flight > 0 for waiting, in_flight in samples), samples
    # ... and in hand, batches of 3: at most 2 running and 4 held on their way to a slot (ansible-rulebook's source queue
    # of 1, the rules engine, one waiting for a running action to end, and the one the source is putting)
    assert max(in_flight for dummy, in_flight in samples) <= (2 + 4) * 3, samples


def test_a_rulebook_killed_mid_batch_loses_no_event_and_a_second_handling_changes_nothing(account, env, iam, tmp_path, moto_server):
    sqs, url = account
    held = threading.Event()  # dora.lost's handling waits in the server until the guard is killed: mid-batch, whatever the timing

    def hold_dora(params):
        if params.get("UserName") == "dora.lost":
            held.wait(120)

    moto_server.before("ListMFADevices", hold_dora)
    # One change per playbook run: the others are handled while dora's waits.
    process, findings, log = start(env, tmp_path, url, enforce=True, visibility_timeout=20, concurrency=2, batch_size=1)
    try:
        assert wait_for(lambda: len(read_findings(findings)) >= 1, 180), open(log.name).read()[-5000:]
    finally:
        stop(process, signal.SIGKILL)  # mid-batch: the other messages were received, dora.lost's not handled
        held.set()
        moto_server.clear_hooks()
        log.close()
    first = read_findings(findings)
    assert "dora.lost" not in {f["user"] for f in first} and queue_counts(sqs, url) != (0, 0)
    process, findings, log = start(env, tmp_path, url, enforce=True, visibility_timeout=20, concurrency=2)  # in batches
    try:
        done = wait_for(lambda: {f["user"] for f in read_findings(findings)} == {u.name for u in USERS} and queue_counts(sqs, url) == (0, 0), 90)
    finally:
        stop(process)
        log.close()
    assert done, f"not all handled after the restart: {read_findings(findings)}\n{open(log.name).read()[-5000:]}"
    by_event = {}
    for finding in read_findings(findings):
        by_event.setdefault(finding["event_id"], []).append(finding)
    assert len(by_event) == len(EVENTS)  # every event handled, some maybe twice
    for handled in by_event.values():  # handled again: the same verdict, and nothing changed the second time
        assert len({(f["act"], f["status"]) for f in handled}) == 1, handled
        assert not any(f["changed"] for f in handled[1:]), handled
    assert {u.name for u in USERS if guarded(iam, u.name)} == REPORTED


@pytest.mark.both_ends("module:iam_change_done")
def test_iam_change_done_records_the_finding_and_deletes_the_message_except_in_check_mode_and_names_a_wrong_event(moto_server, env, tmp_path):
    sqs = boto3.client("sqs", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    url = sqs.create_queue(QueueName=f"iam-changes-{time.monotonic_ns()}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=message("CreateUser", request={"userName": "carol"}))
    received = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"][0]
    event = {"iam_change": {"action": "CreateUser", "user": "carol"},
             "sqs": {"queue_url": url, "message_id": received["MessageId"], "receipt_handle": received["ReceiptHandle"]}}
    findings = tmp_path / "guard" / "findings.jsonl"
    arguments = json.dumps({"event": event, "finding": {"user": "carol", "act": False}, "findings_path": str(findings)})
    checked = adhoc_result(run(["ansible", "localhost", "-m", "awssec.mfa.iam_change_done", "-a", arguments, "--check"], env).stdout)
    assert checked["changed"] is True and checked["message_id"] == received["MessageId"] and checked["findings_path"] == str(findings)
    assert queue_counts(sqs, url) == (0, 1) and not findings.parent.exists()
    done = adhoc_result(run(["ansible", "localhost", "-m", "awssec.mfa.iam_change_done", "-a", arguments], env).stdout)
    assert done["changed"] is True and queue_counts(sqs, url) == (0, 0)
    assert read_findings(findings) == [{"user": "carol", "act": False}]
    wrong = run(["ansible", "localhost", "-m", "awssec.mfa.iam_change_done", "-a", json.dumps({"event": {"iam_change": {}}})], env, check=False)
    assert wrong.returncode != 0 and "not an event of awssec.mfa.iam_changes" in wrong.stdout
    alone = run(["ansible", "localhost", "-m", "awssec.mfa.iam_change_done", "-a", json.dumps({"event": event, "findings_path": str(findings)})], env,
                check=False)
    assert alone.returncode != 0 and "findings_path" in alone.stdout and "finding" in alone.stdout
    assert read_findings(findings) == [{"user": "carol", "act": False}]
