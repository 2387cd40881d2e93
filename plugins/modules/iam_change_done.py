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
      - One of O(event) and O(events) is required.
    type: dict
  events:
    description:
      - The events of a batch, as M(awssec.mfa.iam_change_event) checked them (its C(events), or an account's share of
        its C(accounts)); their messages are deleted ten to a request (sqs:DeleteMessageBatch), but those O(keep) names.
    type: list
    elements: dict
  keep:
    description:
      - >-
        The CloudTrail event ids (C(iam_change.event_id)) of the events of O(events) whose messages stay in the queue:
        their handling failed, so they are delivered again (and then go to the dead-letter queue).
      - The events of O(findings) with an C(error) or C(unreached) set (P(awssec.mfa.mfa_guard_findings#filter)) are kept too.
    type: list
    elements: str
    default: []
  finding:
    description:
      - What the handling found, added to O(findings_path) as one JSON line.
    type: dict
  findings:
    description:
      - What the handling of O(events) found, each added to O(findings_path) as one JSON line, in order.
    type: list
    elements: dict
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

- name: A batch is handled - what was found is recorded, then the messages leave the queue, but the one that failed
  awssec.mfa.iam_change_done:
    events: "{{ change_event.events }}"
    findings: "{{ change_event.events | map(attribute='iam_change') | map('awssec.mfa.mfa_guard_verdict') }}"
    keep: ["0b5a3c3e-2f1d-4c53-9a43-5a4c1e4c9b1f"]
    findings_path: ~/.awssec-mfa/guard-findings.jsonl

- name: The change is handled - what was found is recorded, then its message leaves the queue
  awssec.mfa.iam_change_done:
    event: "{{ change_event.event }}"
    finding: "{{ {'user': change_event.event.iam_change.user, 'why': 'checked'} }}"
    findings_path: ~/.awssec-mfa/guard-findings.jsonl
"""

RETURN = r"""
message_id:
  description: The SQS message deleted (or that would be, in check mode).
  returned: with O(event)
  type: str
  sample: 5fea7756-0ea4-451a-a703-a558b933e274
findings_path:
  description: The file the finding was added to (or would be, in check mode); null when none was recorded.
  returned: always
  type: str
  sample: /home/sec/.awssec-mfa/guard-findings.jsonl
message_ids:
  description: The SQS messages of O(events) deleted (or that would be, in check mode), those of O(keep) left out.
  returned: with O(events)
  type: list
  elements: str
  sample: [5fea7756-0ea4-451a-a703-a558b933e274]
"""

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError
from ansible_collections.awssec.mfa.plugins.module_utils.guard import event_queue, kept_messages, mark_all_handled, mark_handled


def main():
    module = AnsibleAWSModule(argument_spec=dict(event=dict(type="dict"), events=dict(type="list", elements="dict"), finding=dict(type="dict"),
                                                 findings=dict(type="list", elements="dict"), keep=dict(type="list", elements="str", default=[]),
                                                 findings_path=dict(type="path")),
                              required_one_of=[("event", "events")], mutually_exclusive=[("event", "events"), ("finding", "findings"),
                                                                                         ("event", "findings"), ("events", "finding")],
                              supports_check_mode=True)
    p = module.params
    findings_path = p["findings_path"] or None
    found = (p["findings"] or []) if p["events"] is not None else [p["finding"]] if p["finding"] is not None else []
    if findings_path and not found:
        module.fail_json(msg="findings_path is given, and no finding (finding, or findings with events) to record")
    events = p["events"] if p["events"] is not None else [p["event"]]
    try:
        queues = [event_queue(event) for event in events]
    except ValueError as e:
        module.fail_json(msg=str(e))
    keep = set(p["keep"]) | set(kept_messages(found))
    leaving = [e for e in events if (e.get("iam_change") or {}).get("event_id") not in keep]
    ids = [e["sqs"].get("message_id") for e in leaving]
    if not module.check_mode:
        def client(service, **where):
            return module.client(service, retry_decorator=RETRY, **where)

        try:
            if p["event"] is not None:
                mark_handled(client, queues[0], p["finding"], findings_path, module.region, p["endpoint_url"])
            else:
                mark_all_handled(client, leaving, found, findings_path, module.region, p["endpoint_url"])
        except OSError as e:
            module.fail_json(msg=f"findings_path: could not add the finding to {findings_path}: {e}")
        except AWSError as e:
            module.fail_json_aws_error(e)
        except (BotoCoreError, ClientError) as e:
            module.fail_json_aws(e, msg=f"Failed to delete the SQS message(s) {', '.join(map(str, ids))} (sqs:DeleteMessage)")
    if p["event"] is not None:
        module.exit_json(changed=True, message_id=queues[0].get("message_id"), findings_path=findings_path)
    module.exit_json(changed=bool(ids or (found and findings_path)), message_ids=ids, findings_path=findings_path)


if __name__ == "__main__":
    main()
