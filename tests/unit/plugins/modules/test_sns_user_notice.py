# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json

import boto3
import pytest
from moto import mock_aws

from ansible_collections.awssec.mfa.plugins.modules.sns_user_notice import main


@pytest.fixture
def topic(aws_env):
    """A topic with an SQS queue subscribed, to read back what was published."""
    with mock_aws():
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        arn = sns.create_topic(Name="mfa-notices")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
        yield arn, lambda: [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])]


def test_publishes_one_notice_with_the_user_as_message_attribute(run_module, topic):
    arn, received = topic
    result = run_module(main, dict(topic="mfa-notices", user="bob.wilson", subject="Set up MFA", body="Please enable MFA."))
    assert result["rc"] == 0 and result["changed"] is True and result["topic_arn"] == arn
    assert result["published"][0]["user"] == "bob.wilson"
    [message] = received()
    assert message["MessageId"] == result["message_id"]
    assert (message["Subject"], message["Message"]) == ("Set up MFA", "Please enable MFA.")
    assert message["MessageAttributes"]["iam_user"]["Value"] == "bob.wilson"


def test_check_mode_finds_the_topic_and_publishes_nothing(run_module, topic):
    arn, received = topic
    result = run_module(main, dict(topic="mfa-notices", user="bob.wilson", body="x"), check_mode=True)
    assert result["rc"] == 0 and result["published"] == [{"user": "bob.wilson", "topic_arn": arn}] and "message_id" not in result
    assert received() == []


def test_a_missing_topic_fails_naming_it(run_module, topic):
    dummy, received = topic
    result = run_module(main, dict(topic="no-such-topic", user="bob.wilson", body="x"))
    assert result["rc"] == 1 and result["msg"] == "topic: no SNS topic named no-such-topic in this account and region"
    assert received() == []


def test_a_notice_without_topic_fails_before_any_call(run_module, aws_env):
    result = run_module(main, dict(notices=[{"user": "ann", "body": "x"}, {"user": "ben", "body": "y", "topic": "t"}]))
    assert result["rc"] == 1 and result["msg"] == "topic: no topic for the notice of ann (give topic, or the notice's own)"
