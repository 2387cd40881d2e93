# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Notices to IAM users through SNS (module_utils/notices.py): batches within PublishBatch's limits, topics by name,
and each message delivered to its user's subscription only (in-process moto, SNS to SQS with filter policies)."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ansible_collections.awssec.mfa.plugins.module_utils.clients import retrying
from ansible_collections.awssec.mfa.plugins.module_utils.notices import MAX_BYTES, batches, publish, size, topic_arns

KEYS = dict(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def notice(user, topic="arn:aws:sns:us-east-1:123456789012:t", body="Hello", subject=None):
    return {"user": user, "topic_arn": topic, "body": body, "subject": subject}


def test_batches_hold_ten_messages_of_one_topic_in_order():
    notices = [notice(f"u{i}") for i in range(23)]
    assert batches(notices, "iam_user") == [list(range(0, 10)), list(range(10, 20)), [20, 21, 22]]


def test_batches_are_per_topic_and_keep_each_topics_order():
    notices = [notice("a", "arn:1"), notice("b", "arn:2"), notice("c", "arn:1"), notice("d", "arn:2"), notice("e", "arn:1")]
    assert sorted(batches(notices, "iam_user")) == [[0, 2, 4], [1, 3]]


def test_a_batch_never_weighs_more_than_publish_batch_takes():
    body = "é" * 50000  # 100,000 bytes in UTF-8: two such messages fit in 256 KiB, three do not
    notices = [notice(f"u{i}", body=body) for i in range(5)]
    assert batches(notices, "iam_user") == [[0, 1], [2, 3], [4]]
    assert all(sum(size(notices[i], "iam_user") for i in batch) <= MAX_BYTES for batch in batches(notices, "iam_user"))
    assert size(notice("bob", body="ab", subject="S"), "iam_user") == 2 + 1 + len("iam_user") + len("String") + 3


class Recorder:
    """A PublishBatch stand-in: records each request; answers as told for the users in ``refused`` and ``broken``."""

    def __init__(self, refused=(), broken=()):
        self.requests, self.refused, self.broken = [], refused, broken

    def publish_batch(self, TopicArn, PublishBatchRequestEntries, aws_retry=False):
        self.requests.append((TopicArn, [e["MessageAttributes"]["iam_user"]["StringValue"] for e in PublishBatchRequestEntries]))
        users = {e["Id"]: e["MessageAttributes"]["iam_user"]["StringValue"] for e in PublishBatchRequestEntries}
        if set(users.values()) & set(self.broken):
            raise ClientError({"Error": {"Code": "AuthorizationError", "Message": "not allowed"}}, "PublishBatch")
        return {"Successful": [{"Id": i, "MessageId": f"m-{u}"} for i, u in users.items() if u not in self.refused],
                "Failed": [{"Id": i, "Code": "InvalidParameter", "Message": "too long", "SenderFault": True}
                           for i, u in users.items() if u in self.refused]}


def test_what_sns_refuses_is_reported_per_user_and_the_rest_is_published():
    notices = [notice(f"u{i:02}") for i in range(25)]
    client = Recorder(refused=("u03",), broken=("u12",))  # u12's whole batch (u10..u19) fails
    published, failed = publish(client, notices, "iam_user")
    assert [len(users) for dummy, users in client.requests] == [10, 10, 5]
    assert [p["user"] for p in published] == [f"u{i:02}" for i in range(25) if i != 3 and not 10 <= i < 20]
    assert published[0] == {"user": "u00", "topic_arn": notices[0]["topic_arn"], "message_id": "m-u00"}
    assert [(f["user"], f["reason"]) for f in failed][:2] == [("u03", "InvalidParameter: too long"), ("u10", "AuthorizationError: not allowed")]
    assert len(failed) == 11


@mock_aws
def test_topics_by_name_are_listed_once_and_arns_are_taken_as_given():
    sns = boto3.client("sns", **KEYS)
    arn = sns.create_topic(Name="mfa-notices")["TopicArn"]
    calls = []
    sns.meta.events.register("before-call.sns.*", lambda model, **kw: calls.append(model.name))
    other = "arn:aws:sns:us-east-1:123456789012:other"
    assert topic_arns(sns, [other]) == {other: other}
    assert calls == []
    assert topic_arns(sns, ["mfa-notices", "nope"]) == {"mfa-notices": arn, "nope": None}
    assert calls == ["ListTopics"]


@mock_aws
def test_each_message_reaches_only_its_users_subscription_in_batches():
    sns, sqs = boto3.client("sns", **KEYS), boto3.client("sqs", **KEYS)
    topic = sns.create_topic(Name="mfa-notices")["TopicArn"]
    queues = {}
    for user in ("u00", "u11"):
        queues[user] = sqs.create_queue(QueueName=f"q-{user}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queues[user], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"FilterPolicy": json.dumps({"iam_user": [user]})})
    calls = []
    sns.meta.events.register("before-call.sns.*", lambda model, **kw: calls.append(model.name))
    notices = [notice(f"u{i:02}", topic, body=f"Hello u{i:02}", subject="Set up MFA") for i in range(12)]
    published, failed = publish(retrying(sns), notices, "iam_user")
    assert failed == [] and [p["user"] for p in published] == [n["user"] for n in notices]
    assert calls == ["PublishBatch", "PublishBatch"]
    for user, queue in queues.items():
        bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])]
        assert [(b["Message"], b["Subject"]) for b in bodies] == [(f"Hello {user}", "Set up MFA")]


@pytest.mark.parametrize("subject", [None, ""])
def test_no_subject_is_sent_when_none_is_given(subject):
    client = Recorder()
    entries = []
    client.publish_batch = lambda TopicArn, PublishBatchRequestEntries, aws_retry=False: entries.extend(PublishBatchRequestEntries) or {
        "Successful": [{"Id": e["Id"], "MessageId": "m"} for e in PublishBatchRequestEntries]}
    publish(client, [notice("a", subject=subject)], "iam_user")
    assert "Subject" not in entries[0]
