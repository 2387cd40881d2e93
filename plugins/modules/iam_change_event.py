#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_change_event
short_description: Take the IAM change event a rulebook passed as checked data, never as a template
version_added: 0.1.0
description:
  - >-
    ansible-rulebook passes the event that triggered a playbook as the variable C(ansible_eda.event). Its strings come
    from a queue that others can write to, and Ansible evaluates C({{ }}) in a variable's value when a template refers
    to it - a forged event could run commands on the controller.
  - This action takes C(ansible_eda.event) as it is, without evaluating it, and checks every field of the event of the
    C(awssec.mfa.iam_changes) source against what AWS can send (IAM user names, 12-digit accounts, the ARNs of AWS's
    partitions, the calls the guard watches, CloudTrail event ids and times; the SQS message's queue URL, id and
    receipt handle). An event that does not match fails the task, naming each field at fault but never its value.
  - >-
    A batch of events (C({"iam_changes": [event, ...]}), as the source emits with its C(batch_size) above 1) is checked
    event by event; one that does not match fails the task, naming its place in the batch.
  - The checked events are returned as data (C(events), and C(accounts), the same grouped by the account they were made
    in); use them, never C(ansible_eda.event), in the tasks that follow.
  - The playbook C(awssec.mfa.mfa_guard) starts with it.
author:
  - awssec.mfa contributors (@awssec)
options: {}
notes:
  - An action that runs on the controller. Supports check mode (it changes nothing).
  - >-
    By hand, pass the event in a file, C(ansible-playbook awssec.mfa.mfa_guard -e @event.json), where event.json holds
    C({"ansible_eda": {"event": {"iam_change": {...}, "sqs": {...}}}}).
"""

EXAMPLES = r"""
- name: Take the event as data, checked field by field
  awssec.mfa.iam_change_event:
  register: change_event

- name: Use the checked event only
  ansible.builtin.debug:
    msg: "{{ change_event.event.iam_change.user }} ({{ change_event.event.iam_change.action }})"
"""

RETURN = r"""
events:
  description: The events, checked (one, or each of a batch, in its order), each as RV(event) describes.
  returned: success
  type: list
  elements: dict
accounts:
  description:
    - The events grouped by the account and partition their change was made in, in the order first seen.
    - Each has C(account_id), C(partition), C(events) (the account's, in order), C(users) (the users their changes
      name, once each) and C(lookups) (true when a change names a group or a policy, whose users must be found).
  returned: success
  type: list
  elements: dict
event:
  description:
    - The event, checked (the first of a batch). C(iam_change) has C(action), C(user), C(account_id), C(partition),
      C(time), C(event_id), C(caller), C(status), C(serial) (the MFA device), C(group) (of a group's change),
      C(policy_arn) (of a managed policy's change) and C(tag_keys) (of C(TagUser) and C(UntagUser)), null when absent;
      C(sqs) has C(queue_url), C(message_id) and C(receipt_handle).
  returned: success
  type: dict
  sample:
    iam_change:
      action: CreateLoginProfile
      user: pat.new
      account_id: "123456789012"
      partition: aws
      time: "2026-12-01T10:00:00Z"
      event_id: 0b5a3c3e-2f1d-4c53-9a43-5a4c1e4c9b1f
      caller: arn:aws:iam::123456789012:user/admin
      status: null
      serial: null
      group: null
      policy_arn: null
      tag_keys: null
    sqs:
      queue_url: https://sqs.us-east-1.amazonaws.com/123456789012/iam-changes
      message_id: 5fea7756-0ea4-451a-a703-a558b933e274
      receipt_handle: AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...
"""
