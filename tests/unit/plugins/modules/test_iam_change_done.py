# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json

import boto3
import pytest
from moto import mock_aws

from tests.support.iam_events import message
from ansible_collections.awssec.mfa.plugins.modules.iam_change_done import main


@pytest.fixture
def received(aws_env):
    """An event as awssec.mfa.iam_changes hands it over, for a message really received from a moto queue."""
    with mock_aws():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="iam-changes", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=message("DeactivateMFADevice", request={"userName": "bob"}))
        [msg] = sqs.receive_message(QueueUrl=url)["Messages"]
        event = {"iam_change": {"action": "DeactivateMFADevice", "user": "bob"},
                 "sqs": {"queue_url": url, "message_id": msg["MessageId"], "receipt_handle": msg["ReceiptHandle"]}}
        yield event, lambda: len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))


def test_records_the_finding_and_deletes_the_message(run_module, received, tmp_path):
    event, left = received
    findings = tmp_path / "findings" / "guard.jsonl"
    result = run_module(main, dict(event=event, finding={"user": "bob", "verdict": "non-compliant"}, findings_path=str(findings)))
    assert result["rc"] == 0 and result["changed"] is True
    assert result["message_id"] == event["sqs"]["message_id"] and result["findings_path"] == str(findings)
    assert [json.loads(line) for line in findings.read_text().splitlines()] == [{"user": "bob", "verdict": "non-compliant"}]
    assert left() == 0


def test_check_mode_neither_records_nor_deletes(run_module, received, tmp_path):
    event, left = received
    findings = tmp_path / "guard.jsonl"
    result = run_module(main, dict(event=event, finding={"user": "bob"}, findings_path=str(findings)), check_mode=True)
    assert result["rc"] == 0 and not findings.exists()
    assert left() == 1  # the visibility timeout is 0: the message not deleted is received again


def test_an_event_without_sqs_fails_clearly(run_module, aws_env):
    result = run_module(main, dict(event={"iam_change": {"action": "CreateUser"}}))
    assert result["rc"] == 1
    assert result["msg"] == "event: not an event of awssec.mfa.iam_changes (it has no sqs.queue_url and sqs.receipt_handle)"


def test_a_batch_records_every_finding_and_deletes_its_messages_but_those_of_failed_handlings(run_module, aws_env, tmp_path):
    with mock_aws():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="iam-changes", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
        for first in (0, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{first + n}"} for n in range(10)])
        held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"] + sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert len({m["MessageId"] for m in held}) == 20
        events = [{"iam_change": {"action": "CreateUser", "user": f"u{n}", "event_id": f"e{n}"},
                   "sqs": {"queue_url": url, "message_id": m["MessageId"], "receipt_handle": m["ReceiptHandle"]}} for n, m in enumerate(held)]
        found = [{"user": f"u{n}", "event_id": f"e{n}", "error": "AccessDenied" if n == 3 else None, "unreached": n == 5} for n in range(20)]
        findings = tmp_path / "guard.jsonl"
        checked = run_module(main, dict(events=events, findings=found, keep=["e7"], findings_path=str(findings)), check_mode=True)
        assert checked["rc"] == 0 and not findings.exists() and len(checked["message_ids"]) == 17
        result = run_module(main, dict(events=events, findings=found, keep=["e7"], findings_path=str(findings)))
        assert result["rc"] == 0 and result["changed"] is True
        assert [json.loads(line)["user"] for line in findings.read_text().splitlines()] == [f"u{n}" for n in range(20)]
        kept = {held[n]["MessageId"] for n in (3, 5, 7)}
        assert set(result["message_ids"]) == {m["MessageId"] for m in held} - kept
        for message in held:  # what is still in the queue shows again at once
            try:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            except sqs.exceptions.ClientError:
                pass  # deleted
        left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert {m["MessageId"] for m in left} == kept  # the failed user's, the unreached account's and the one kept by name
        alone = run_module(main, dict(events=[e for e in events if e["sqs"]["message_id"] in kept]))  # no findings: all deleted
        assert alone["rc"] == 0 and sorted(alone["message_ids"]) == sorted(kept)
