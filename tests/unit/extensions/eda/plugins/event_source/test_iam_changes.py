# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The iam_changes event source: which SQS messages become events and with what, and the queue's messages handled at
least once (left for the handler to delete, delivered again when it does not), throttling outlived (in-process moto)."""

import asyncio
import json

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from moto import mock_aws

from ansible_collections.awssec.mfa.extensions.eda.plugins.event_source import iam_changes
from tests.support.iam_events import ACCOUNT_ID, message

KEYS = dict(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.mark.parametrize("action, request_, response, user", [
    ("CreateLoginProfile", {"userName": "bob", "passwordResetRequired": True}, {"loginProfile": {"userName": "bob"}}, "bob"),
    ("UpdateLoginProfile", {"userName": "bob"}, None, "bob"),
    ("CreateAccessKey", {"userName": "bob"}, {"accessKey": {"userName": "bob", "status": "Active"}}, "bob"),
    ("CreateUser", {"userName": "carol"}, {"user": {"userName": "carol"}}, "carol"),
    ("DeactivateMFADevice", {"userName": "dan", "serialNumber": "arn:aws:iam::123456789012:mfa/dan"}, None, "dan"),
])
def test_an_iam_call_becomes_a_change_about_its_user(action, request_, response, user):
    change = iam_changes.iam_change(message(action, request=request_, response=response, caller="admin"))
    assert change["action"] == action and change["user"] == user
    assert change["account_id"] == ACCOUNT_ID and change["caller"] == f"arn:aws:iam::{ACCOUNT_ID}:user/admin"
    assert change["time"] == "2026-12-01T10:00:00Z" and change["event_id"]


def test_a_call_that_names_no_user_is_about_its_caller():
    change = iam_changes.iam_change(message("CreateAccessKey", request=None, response={"accessKey": {"status": "Active"}}, caller="erin"))
    assert change["user"] == "erin"


def test_the_new_status_of_a_key_and_the_device_of_a_deletion_are_carried():
    update = iam_changes.iam_change(message("UpdateAccessKey", request={"userName": "bob", "accessKeyId": "AKIA1", "status": "Active"}))
    assert update["status"] == "Active" and update["serial"] is None
    serial = "arn:aws:iam::123456789012:mfa/phone"
    deleted = iam_changes.iam_change(message("DeleteVirtualMFADevice", request={"serialNumber": serial}, caller="admin"))
    assert deleted["user"] is None and deleted["serial"] == serial  # the device's user is not named; not the caller


def test_an_sns_notification_is_unwrapped():
    body = json.dumps({"Type": "Notification", "MessageId": "m", "Message": message("CreateUser", request={"userName": "carol"})})
    assert iam_changes.iam_change(body)["user"] == "carol"


@pytest.mark.parametrize("body", [
    json.dumps({"detail": {"eventSource": "s3.amazonaws.com", "eventName": "CreateBucket"}}),
    json.dumps({"Type": "SubscriptionConfirmation", "Message": "confirm"}),
    message("CreateLoginProfile", request={"userName": "bob"}, error="EntityAlreadyExists"),  # failed: nothing changed
    message("ListUsers", request=None),
    message("AttachUserPolicy", request={"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
])
def test_what_records_no_change_that_bears_on_mfa_is_none(body):
    assert iam_changes.iam_change(body) is None


@pytest.mark.parametrize("body", ["not json", json.dumps(["a list"]), "[" * 100_000 + "]" * 100_000])
def test_what_is_not_an_event_as_aws_sends_it_is_bad(body):
    change, bad = iam_changes.read({"MessageId": "m", "Body": body})
    assert change is None and bad


class Collector(asyncio.Queue):
    """Keeps what the source emits."""

    def __init__(self):
        super().__init__()
        self.events = []

    async def put(self, item):
        self.events.append(item)


class Stopping:
    """An SQS client that ends the source's run at its first receive once ``until`` events were emitted: whatever the
    source does after emitting an event (deleting its message or not) is done by then."""

    def __init__(self, client, queue, until):
        self.client, self.queue, self.until = client, queue, until

    def receive_message(self, **kwargs):
        if len(self.queue.events) >= self.until:
            raise asyncio.CancelledError
        return self.client.receive_message(**kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def run(client, args, until, timeout=15):
    """The source's events, reading ``client`` until ``until`` events were emitted."""
    queue = Collector()
    original = iam_changes.client
    iam_changes.client = lambda args: Stopping(client, queue, until)

    async def go():
        try:
            await asyncio.wait_for(iam_changes.main(queue, args), timeout)
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(go())
    finally:
        iam_changes.client = original
    return queue.events


def counts(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client("sqs", **KEYS)


def test_events_are_emitted_and_their_messages_left_for_the_handler(sqs):
    url = sqs.create_queue(QueueName="iam-changes")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=message("CreateLoginProfile", request={"userName": "bob"}))
    sqs.send_message(QueueUrl=url, MessageBody="not an IAM change")
    sqs.send_message(QueueUrl=url, MessageBody=message("DeactivateMFADevice", request={"userName": "dan", "serialNumber": "GAHT12345678"}))
    events = run(sqs, {"queue_url": url, "wait_time_seconds": 1, "visibility_timeout": 60}, until=2)
    assert [(e["iam_change"]["action"], e["iam_change"]["user"]) for e in events] == [("CreateLoginProfile", "bob"), ("DeactivateMFADevice", "dan")]
    assert all(e["sqs"]["queue_url"] == url and e["sqs"]["receipt_handle"] for e in events)
    assert counts(sqs, url) == (0, 2)  # the junk deleted; the two changes in flight, not deleted
    for event in events:  # the handler deletes what it handled
        sqs.delete_message(QueueUrl=url, ReceiptHandle=event["sqs"]["receipt_handle"])
    assert counts(sqs, url) == (0, 0)


def test_a_message_its_handler_did_not_delete_is_delivered_again(sqs):
    url = sqs.create_queue(QueueName="iam-changes")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=message("CreateUser", request={"userName": "carol"}))
    first = run(sqs, {"queue_url": url, "wait_time_seconds": 1, "visibility_timeout": 1}, until=1)
    again = run(sqs, {"queue_url": url, "wait_time_seconds": 3, "visibility_timeout": 60}, until=1)  # a restarted source
    assert first[0]["sqs"]["message_id"] == again[0]["sqs"]["message_id"]
    assert again[0]["iam_change"] == first[0]["iam_change"]


def test_delete_on_receipt_deletes_each_message_once_its_event_is_emitted(sqs):
    url = sqs.create_queue(QueueName="iam-changes")["QueueUrl"]
    for name in ("u1", "u2", "u3"):
        sqs.send_message(QueueUrl=url, MessageBody=message("CreateUser", request={"userName": name}))
    events = run(sqs, {"queue_url": url, "wait_time_seconds": 1, "delete_on_receipt": True}, until=3)
    assert sorted(e["iam_change"]["user"] for e in events) == ["u1", "u2", "u3"]
    assert counts(sqs, url) == (0, 0)


class Throttled:
    """An SQS client whose first ``fail`` receives are throttled (or refused with ``code``, or fail with ``error``)."""

    def __init__(self, fail, code="ThrottlingException", error=None):
        self.fail, self.code, self.error, self.calls = fail, code, error, 0

    def receive_message(self, **kwargs):
        self.calls += 1
        if self.calls <= self.fail:
            raise self.error or ClientError({"Error": {"Code": self.code, "Message": "Rate exceeded"}}, "ReceiveMessage")
        return {"Messages": [{"MessageId": "m1", "ReceiptHandle": "r1", "Body": message("CreateUser", request={"userName": "carol"})}]}


def test_throttling_is_waited_out(monkeypatch):
    fake = Throttled(fail=3)
    waits = []
    monkeypatch.setattr(iam_changes, "backoff", lambda attempt: waits.append(attempt) or 0)
    events = run(fake, {"queue_url": "https://sqs.example/q"}, until=1)
    assert events[0]["iam_change"]["user"] == "carol" and fake.calls == 4 and waits == [1, 2, 3]


def test_a_network_error_is_waited_out(monkeypatch):
    fake = Throttled(fail=2, error=EndpointConnectionError(endpoint_url="https://sqs.example"))
    monkeypatch.setattr(iam_changes, "backoff", lambda attempt: 0)
    assert run(fake, {"queue_url": "https://sqs.example/q"}, until=1)[0]["iam_change"]["user"] == "carol" and fake.calls == 3


@pytest.mark.parametrize("fake, error", [
    (Throttled(fail=1, code="AccessDenied"), "AccessDenied"),
    (Throttled(fail=1, code="AWS.SimpleQueueService.NonExistentQueue"), "NonExistentQueue"),
    (Throttled(fail=1, error=NoCredentialsError()), "Unable to locate credentials"),
])
def test_a_refusal_or_no_credentials_ends_the_source_with_its_error(fake, error):
    with pytest.raises((ClientError, NoCredentialsError), match=error):
        run(fake, {"queue_url": "https://sqs.example/q"}, until=1)
    assert fake.calls == 1


def test_backoff_is_jittered_and_bounded():
    waits = [(attempt, iam_changes.backoff(attempt)) for attempt in range(1, 12) for dummy in range(20)]
    assert all(0 <= wait <= min(iam_changes.MAX_BACKOFF, 2 ** (attempt - 1)) for attempt, wait in waits)
    assert max(wait for attempt, wait in waits if attempt == 10) > 2  # it does grow


POISON = [
    "[" * 200_000 + "]" * 200_000,  # the JSON parser would recurse 200,000 deep
    json.dumps({"Type": "Notification", "Message": "[" * 200_000 + "]" * 200_000}),
    message("CreateLoginProfile", request="userName=mallory"),  # a string requestParameters
    json.dumps(dict(json.loads(message("CreateLoginProfile", request={"userName": "bob"})),
                    detail=dict(json.loads(message("CreateLoginProfile", request={"userName": "bob"}))["detail"], userIdentity=["admin"]))),
    message("CreateLoginProfile", request={"userName": "{{ lookup('ansible.builtin.pipe', 'id > PWNED') }}"}),
]


def test_bad_messages_are_deleted_and_the_source_goes_on_with_the_good_ones_behind_them(sqs, caplog):
    url = sqs.create_queue(QueueName="iam-changes")["QueueUrl"]
    for body in POISON:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    for name in ("u1", "u2"):
        sqs.send_message(QueueUrl=url, MessageBody=message("CreateUser", request={"userName": name}))
    events = run(sqs, {"queue_url": url, "wait_time_seconds": 1, "visibility_timeout": 60}, until=2)
    assert sorted(e["iam_change"]["user"] for e in events) == ["u1", "u2"]
    assert counts(sqs, url) == (0, 2)  # every bad message deleted; the two changes left for their handler
    bad = [r.getMessage() for r in caplog.records if "is not an IAM change as AWS sends it" in r.getMessage()]
    assert len(bad) == len(POISON) and all(line.endswith("deleted") for line in bad)
    assert not any("lookup" in r.getMessage() or "[[[" in r.getMessage() for r in caplog.records)  # why, never the contents


def test_bad_messages_can_be_left_for_the_dead_letter_queue(sqs):
    url = sqs.create_queue(QueueName="iam-changes")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=POISON[2])
    sqs.send_message(QueueUrl=url, MessageBody=message("CreateUser", request={"userName": "u1"}))
    events = run(sqs, {"queue_url": url, "wait_time_seconds": 1, "visibility_timeout": 60, "bad_messages": "leave"}, until=1)
    assert [e["iam_change"]["user"] for e in events] == ["u1"]
    assert counts(sqs, url) == (0, 2)  # the bad message received, not deleted: it comes back until the redrive policy moves it


def test_an_unknown_bad_messages_choice_ends_the_source_at_once():
    with pytest.raises(ValueError, match="bad_messages must be one of delete, leave"):
        run(Throttled(fail=0), {"queue_url": "https://sqs.example/q", "bad_messages": "keep"}, until=1)


class FailingDelete(Throttled):
    """Deletions fail with ``code``."""

    def __init__(self, code, body):
        super().__init__(fail=0)
        self.code, self.body, self.deletes = code, body, 0

    def receive_message(self, **kwargs):
        self.calls += 1
        return {"Messages": [{"MessageId": f"m{self.calls}", "ReceiptHandle": f"r{self.calls}", "Body": self.body if self.calls == 1 else
                              message("CreateUser", request={"userName": "carol"})}]}

    def delete_message(self, **kwargs):
        self.deletes += 1
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "DeleteMessage")


def test_a_deletion_throttled_leaves_that_message_and_the_source_goes_on():
    fake = FailingDelete("ThrottlingException", "not json")
    assert run(fake, {"queue_url": "https://sqs.example/q"}, until=1)[0]["iam_change"]["user"] == "carol" and fake.deletes == 1


def test_a_deletion_refused_ends_the_source():
    fake = FailingDelete("AccessDenied", "not json")
    with pytest.raises(ClientError, match="AccessDenied"):
        run(fake, {"queue_url": "https://sqs.example/q"}, until=1)


def test_an_unexpected_error_while_reading_one_message_drops_that_message_only(monkeypatch):
    real = iam_changes.iam_change

    def buggy(body):
        if body == "boom":
            raise RuntimeError("bug")
        return real(body)

    monkeypatch.setattr(iam_changes, "iam_change", buggy)
    fake = Throttled(fail=0)
    carol = message("CreateUser", request={"userName": "carol"})
    fake.receive_message = lambda **kwargs: {"Messages": [{"MessageId": "m0", "ReceiptHandle": "r0", "Body": "boom"},
                                                          {"MessageId": "m1", "ReceiptHandle": "r1", "Body": carol}]}
    fake.delete_message = lambda **kwargs: None
    assert [e["iam_change"]["user"] for e in run(fake, {"queue_url": "https://sqs.example/q"}, until=1)] == ["carol"]


# --- batches ------------------------------------------------------------------------------------

def test_changes_that_arrive_together_are_emitted_as_one_batch_of_at_most_batch_size(sqs):
    url = sqs.create_queue(QueueName="iam-changes")["QueueUrl"]
    names = [f"u{n:02d}" for n in range(25)]
    for first in range(0, len(names), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": message("CreateUser", request={"userName": name})}
                                                      for i, name in enumerate(names[first:first + 10])])
    sqs.send_message(QueueUrl=url, MessageBody="not an IAM change")
    batches = run(sqs, {"queue_url": url, "wait_time_seconds": 1, "batch_size": 12, "batch_seconds": 5}, until=3)
    assert [list(batch) for batch in batches] == [["iam_changes"]] * 3
    sizes = [len(batch["iam_changes"]) for batch in batches]
    assert sizes == [12, 12, 1]  # full batches first; the last one closes after batch_seconds
    received = [e["iam_change"]["user"] for batch in batches for e in batch["iam_changes"]]
    assert sorted(received) == names and all(e["sqs"]["receipt_handle"] for batch in batches for e in batch["iam_changes"])
    assert counts(sqs, url) == (0, 25)  # the junk deleted; every change left for its handler


def test_a_lone_change_is_emitted_once_its_batch_closes_not_when_it_is_full(sqs, monkeypatch):
    url = sqs.create_queue(QueueName="iam-changes")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=message("CreateUser", request={"userName": "carol"}))
    waits = []
    receive = sqs.receive_message

    def watched(**kwargs):
        waits.append(kwargs["WaitTimeSeconds"])
        return receive(**kwargs)

    monkeypatch.setattr(sqs, "receive_message", watched)
    [batch] = run(sqs, {"queue_url": url, "wait_time_seconds": 20, "batch_size": 100, "batch_seconds": 1}, until=1, timeout=10)
    assert [e["iam_change"]["user"] for e in batch["iam_changes"]] == ["carol"]
    assert waits[0] == 20 and all(wait <= 1 for wait in waits[1:-1]) and len(waits) >= 2  # the window's receives wait 1 s at most


@pytest.mark.parametrize("args, why", [({"batch_size": 0}, "batch_size must be 1 to 1000, not 0"),
                                       ({"batch_size": 1001}, "batch_size must be 1 to 1000, not 1001"),
                                       ({"batch_seconds": -1}, "batch_seconds must be 0 to 60, not -1.0")])
def test_a_wrong_batch_setting_is_refused_naming_it(args, why):
    with pytest.raises(ValueError, match=f"^{why}$"):
        iam_changes.settings(dict(args, queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/q"))
