#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sns_user_notice
short_description: Publish a notice to an SNS topic, addressed to one IAM user
version_added: 0.1.0
description:
  - >-
    Publishes one message to an SNS topic with the message attribute O(attribute) (default C(iam_user)) set to O(user).
    A subscription with the filter policy C({"iam_user": ["NAME"]}) receives the messages of user C(NAME) only, so that
    a topic shared by every user delivers each notice to its user's mailbox or queue alone.
  - A subscription without a filter policy receives every message (for example the security team's).
  - The role M(awssec.mfa.mfa_enforce) sends its warnings and notices with it.
author:
  - awssec.mfa contributors (@awssec)
options:
  topic:
    description: The topic's ARN, or its name (looked up with sns:ListTopics).
    type: str
    required: true
  user:
    description: The IAM user the notice is for (the value of the message attribute).
    type: str
    required: true
  subject:
    description: The subject (of emails).
    type: str
  body:
    description: The text.
    type: str
    required: true
  attribute:
    description: The name of the message attribute that carries O(user).
    type: str
    default: iam_user
notes:
  - Supports check mode - nothing is published, C(changed) says a message would be.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Tell alice, and only alice (her subscription filters on iam_user), that MFA is now enforced
  awssec.mfa.sns_user_notice:
    topic: arn:aws:sns:us-east-1:123456789012:mfa-notices
    user: alice
    subject: MFA is now enforced on your AWS user
    body: "{{ lookup('ansible.builtin.template', 'enforced.txt.j2') }}"

# Subscribing her mailbox to her messages only (once, with the aws CLI):
#   aws sns subscribe --topic-arn arn:aws:sns:us-east-1:123456789012:mfa-notices --protocol email \
#     --notification-endpoint alice@example.com --attributes '{"FilterPolicy": "{\"iam_user\": [\"alice\"]}"}'
"""

RETURN = r"""
topic_arn:
  description: The topic's ARN.
  returned: always
  type: str
  sample: arn:aws:sns:us-east-1:123456789012:mfa-notices
message_id:
  description: The ID SNS gave the message (none in check mode).
  returned: when published
  type: str
"""

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY


@RETRY
def _topics(client):
    return client.get_paginator("list_topics").paginate().build_full_result().get("Topics", [])


def topic_arn(client, topic: str):
    """The ARN of a topic given by ARN or by name (None when there is no such topic)."""
    if topic.startswith("arn:"):
        return topic
    return next((t["TopicArn"] for t in _topics(client) if t["TopicArn"].rsplit(":", 1)[-1] == topic), None)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            topic=dict(type="str", required=True),
            user=dict(type="str", required=True),
            subject=dict(type="str"),
            body=dict(type="str", required=True),
            attribute=dict(type="str", default="iam_user"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    client = module.client("sns", retry_decorator=RETRY)
    try:
        arn = topic_arn(client, params["topic"])
        if arn is None:
            module.fail_json(msg=f"topic: no SNS topic named {params['topic']} in this account and region")
        if module.check_mode:
            module.exit_json(changed=True, topic_arn=arn)
        request = {"TopicArn": arn, "Message": params["body"],
                   "MessageAttributes": {params["attribute"]: {"DataType": "String", "StringValue": params["user"]}}}
        if params["subject"]:
            request["Subject"] = params["subject"]
        published = client.publish(aws_retry=True, **request)
    except (BotoCoreError, ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to publish the notice for {params['user']} to {params['topic']}")
    module.exit_json(changed=True, topic_arn=arn, message_id=published["MessageId"])


if __name__ == "__main__":
    main()
