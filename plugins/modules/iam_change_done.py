#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_change_done
short_description: Mark an IAM change event handled - record its finding, delete its SQS message
version_added: 0.1.0
description:
  - >-
    The event source C(awssec.mfa.iam_changes) leaves each event's SQS message in the queue for its handler to delete
    once done; a message not deleted within the source's C(visibility_timeout) is delivered again. This module is
    that deletion (sqs:DeleteMessage): the last task of a playbook that handled the event.
  - With O(findings_path), the O(finding) is first added to that file as one JSON line. Playbooks that run at once
    (the rulebook's parallel actions) each add their line whole. The file is opened without following a symbolic link
    and only when it is a regular file of this user; a write that fails is tried again once, a second later, then the
    module fails with the cause and the message is not deleted (it comes back, then goes to the dead-letter queue).
  - The playbook C(awssec.mfa.mfa_guard) ends with it.
author:
  - awssec.mfa contributors (@awssec)
options:
  event:
    description:
      - The event, as M(awssec.mfa.iam_change_event) checked it (from the C(ansible_eda.event) the rulebook passes); its
        C(sqs.queue_url) and C(sqs.receipt_handle) name the message.
    type: dict
    required: true
  finding:
    description:
      - What the handling found, added to O(findings_path) as one JSON line.
    type: dict
  findings_path:
    description:
      - A file of findings, one JSON line each (made 0600, in a folder made 0700, when missing); O(finding) is added
        to it before the message is deleted, so a handling cut short leaves the message to be delivered again.
      - Unset or empty, nothing is recorded.
    type: path
notes:
  - Supports check mode - nothing is recorded or deleted.
  - Deleting a message that was deleted already changes nothing in the queue and does not fail.
  - Without O(region), the region is the one the queue's URL names (C(https://sqs.REGION.amazonaws.com/...)).
  - A queue whose URL is not AWS's (a local test server) is reached at that URL's scheme, host and port, unless
    O(endpoint_url) is given.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
# The event as awssec.mfa.iam_change_event checked it: never template ansible_eda.event itself (its strings are untrusted).
- name: Take the event as data, checked field by field
  awssec.mfa.iam_change_event:
  register: change_event

- name: The change is handled - its message leaves the queue
  awssec.mfa.iam_change_done:
    event: "{{ change_event.event }}"

- name: The change is handled - what was found is recorded, then its message leaves the queue
  awssec.mfa.iam_change_done:
    event: "{{ change_event.event }}"
    finding: "{{ {'user': change_event.event.iam_change.user, 'why': 'checked'} }}"
    findings_path: ~/.awssec-mfa/guard-findings.jsonl
"""

RETURN = r"""
message_id:
  description: The SQS message deleted (or that would be, in check mode).
  returned: always
  type: str
  sample: 5fea7756-0ea4-451a-a703-a558b933e274
findings_path:
  description: The file the finding was added to (or would be, in check mode); null when none was recorded.
  returned: always
  type: str
  sample: /home/sec/.awssec-mfa/guard-findings.jsonl
"""

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY
from ansible_collections.awssec.mfa.plugins.module_utils.guard import event_queue, mark_handled


def main():
    module = AnsibleAWSModule(argument_spec=dict(event=dict(type="dict", required=True), finding=dict(type="dict"), findings_path=dict(type="path")),
                              required_by=dict(findings_path="finding"), supports_check_mode=True)
    p = module.params
    try:
        sqs = event_queue(p["event"])
    except ValueError as e:
        module.fail_json(msg=str(e))
    findings_path = p["findings_path"] or None
    if not module.check_mode:
        try:
            mark_handled(lambda service, **where: module.client(service, retry_decorator=RETRY, **where), sqs, p["finding"], findings_path,
                         module.region, p["endpoint_url"])
        except OSError as e:
            module.fail_json(msg=f"findings_path: could not add the finding to {findings_path}: {e}")
        except (BotoCoreError, ClientError) as e:
            module.fail_json_aws(e, msg=f"Failed to delete the SQS message {sqs.get('message_id')} (sqs:DeleteMessage)")
    module.exit_json(changed=True, message_id=sqs.get("message_id"), findings_path=findings_path)


if __name__ == "__main__":
    main()
