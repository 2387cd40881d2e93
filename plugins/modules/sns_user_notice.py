#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sns_user_notice
short_description: Publish notices to SNS topics, each addressed to one IAM user
version_added: 0.1.0
description:
  - >-
    Publishes messages to SNS topics, each with the message attribute O(attribute) (default C(iam_user)) set to its
    user. A subscription with the filter policy C({"iam_user": ["NAME"]}) receives the messages of user C(NAME) only, so
    that a topic shared by every user delivers each notice to its user's mailbox or queue alone.
  - A subscription without a filter policy receives every message (for example the security team's).
  - >-
    One notice (O(user), O(body)) or many (O(notices)) in one run: they are published ten to a request
    (sns:PublishBatch, which needs the permission sns:Publish), and a message that SNS refuses does not stop the others.
  - The role P(awssec.mfa.mfa_enforce#role) sends its warnings and notices with it, all users' in one task.
author:
  - awssec.mfa contributors (@awssec)
options:
  topic:
    description:
      - The topic's ARN, or its name (looked up with sns:ListTopics).
      - The topic of O(user)'s notice, and of each of O(notices) that names none.
    type: str
  user:
    description: The IAM user the notice is for (the value of the message attribute). With O(body).
    type: str
  subject:
    description: The subject (of emails) of O(user)'s notice.
    type: str
  body:
    description: The text of O(user)'s notice.
    type: str
  notices:
    description:
      - Many notices, published in this one run (instead of O(user), O(subject) and O(body)).
      - Every topic is checked before anything is published.
    type: list
    elements: dict
    suboptions:
      user:
        description: The IAM user the notice is for.
        type: str
        required: true
      body:
        description: The text.
        type: str
        required: true
      subject:
        description: The subject (of emails).
        type: str
      topic:
        description: The topic's ARN or name; O(topic) when not given.
        type: str
  attribute:
    description: The name of the message attribute that carries the user.
    type: str
    default: iam_user
notes:
  - Supports check mode - nothing is published, C(changed) says whether a message would be.
  - >-
    When some messages cannot be published, the module fails, naming their users and SNS's reasons, and returns
    RV(published) (those that were) and RV(failed).
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

- name: Warn many users in one run (bob's notice goes to his own topic)
  awssec.mfa.sns_user_notice:
    topic: mfa-notices
    notices:
      - user: alice
        subject: Set up MFA on your AWS user
        body: "Hello alice, ..."
      - user: bob
        topic: mfa-bob
        subject: Set up MFA on your AWS user
        body: "Hello bob, ..."
"""

RETURN = r"""
topic_arn:
  description: The topic's ARN (of O(user)'s notice).
  returned: with O(user)
  type: str
  sample: arn:aws:sns:us-east-1:123456789012:mfa-notices
message_id:
  description: The ID SNS gave O(user)'s message.
  returned: with O(user), when published
  type: str
published:
  description: The notices published (in check mode, those that would be), in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The notice's user.
      type: str
    topic_arn:
      description: Its topic's ARN.
      type: str
    message_id:
      description: The ID SNS gave the message (none in check mode).
      type: str
  sample: [{"user": "alice", "topic_arn": "arn:aws:sns:us-east-1:123456789012:mfa-notices", "message_id": "5f3a..."}]
failed:
  description: The notices SNS did not publish, each with its user, topic_arn and SNS's reason.
  returned: when some failed
  type: list
  elements: dict
"""

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY
from ansible_collections.awssec.mfa.plugins.module_utils.notices import notices_from_params, send


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            topic=dict(type="str"),
            user=dict(type="str"),
            subject=dict(type="str"),
            body=dict(type="str"),
            notices=dict(type="list", elements="dict", options=dict(
                user=dict(type="str", required=True),
                body=dict(type="str", required=True),
                subject=dict(type="str"),
                topic=dict(type="str"),
            )),
            attribute=dict(type="str", default="iam_user"),
        ),
        required_one_of=[("user", "notices")],
        mutually_exclusive=[("user", "notices"), ("body", "notices"), ("subject", "notices")],
        required_together=[("user", "body")],
        supports_check_mode=True,
    )
    try:
        notices, one = notices_from_params(module.params)
    except ValueError as e:
        module.fail_json(msg=str(e))
    try:
        result, failure = send(module.client("sns", retry_decorator=RETRY), notices, module.params["attribute"], one, module.check_mode)
    except (BotoCoreError, ClientError) as e:
        module.fail_json_aws(e, msg="Failed to list the SNS topics (sns:ListTopics)")
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
