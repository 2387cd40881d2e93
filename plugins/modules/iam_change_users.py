#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_change_users
short_description: The IAM users that a change of a group or of a managed policy concerns
version_added: 0.1.0
description:
  - The MFA guard re-reads the users an IAM change concerns. Most changes name their user; a change of a group
    (C(DetachGroupPolicy), C(DeleteGroupPolicy)) concerns the group's members, and a change of a managed policy
    (C(DeletePolicy), C(CreatePolicyVersion), C(SetDefaultPolicyVersion)) the users it is attached to, directly or
    through their groups. This module finds them, as they are now (iam:GetGroup, iam:ListEntitiesForPolicy).
  - A group or a policy that no longer exists concerns no user.
  - Read-only; runs the same in check mode.
  - The playbook C(awssec.mfa.mfa_guard) uses it.
author:
  - awssec.mfa contributors (@awssec)
options:
  changes:
    description:
      - IAM changes, as M(awssec.mfa.iam_change_event) checked them (the C(iam_change) of its events). A change that
        names its user, or no group or policy, is passed over.
    type: list
    elements: dict
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find the users the changes of groups and policies concern
  awssec.mfa.iam_change_users:
    changes: "{{ change_event.events | map(attribute='iam_change') }}"
  register: concerned
"""

RETURN = r"""
users:
  description: Every user the changes concern, once each, sorted.
  returned: always
  type: list
  elements: str
  sample: [ann, bob]
concerned:
  description: For each change of a group or a policy (by its C(event_id)), the users it concerns, sorted.
  returned: always
  type: dict
  sample: {"0b5a3c3e-2f1d-4c53-9a43-5a4c1e4c9b1f": [ann, bob]}
api_calls:
  description: The IAM requests made.
  returned: always
  type: int
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError
from ansible_collections.awssec.mfa.plugins.module_utils.guard import concerned_users


def main():
    module = AnsibleAWSModule(argument_spec=dict(changes=dict(type="list", elements="dict", required=True)), supports_check_mode=True)
    iam = module.client("iam", retry_decorator=RETRY)
    try:
        concerned, calls = concerned_users(iam, module.params["changes"])
    except AWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, users=sorted({u for users in concerned.values() for u in users}), concerned=concerned, api_calls=calls)


if __name__ == "__main__":
    main()
