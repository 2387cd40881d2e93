# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
name: mfa_policy
short_description: The IAM policy that requires MFA, as enforced by awssec.mfa.iam_mfa_enforce
version_added: 0.1.0
description:
  - Returns the identity policy document that M(awssec.mfa.iam_mfa_enforce) attaches. It is the pattern AWS documents
    for MFA-authenticated IAM users who manage their own credentials. Users may set up their own MFA device
    and get an MFA session (C(sts:GetSessionToken)) without MFA, and everything else is denied
    (a C(Deny) with C(NotAction) and C(BoolIfExists aws:MultiFactorAuthPresent false)) until they sign in with MFA.
  - An identity policy, so there is no C(Principal). Resources are per user (C(arn:aws:iam::*:user/${aws:username})), in the
    partition given by O(partition).
  - Returns one item, the document as a dictionary; pipe it to C(to_json) for a JSON string.
author:
  - awssec.mfa contributors (@awssec)
options:
  allow_without_mfa:
    description:
      - Extra IAM actions allowed before signing in with MFA (added to the C(NotAction) of the deny), such as V(iam:GetAccountSummary).
      - Whole services (V(s3:*)) are refused.
    type: list
    elements: str
    default: []
  allow_password_change:
    description: Let users change their own password without MFA (needed when a password must be reset at the first sign-in).
    type: bool
    default: true
  allow_access_key_self_service:
    description: Let users create, rotate and delete their own access keys, once signed in with MFA.
    type: bool
    default: true
  partition:
    description:
      - The partition of the account the policy is for, which the resources' ARNs name, such as V(aws-us-gov) for
        GovCloud or V(aws-cn) for China. An ARN of another partition matches nothing in that account.
      - M(awssec.mfa.iam_mfa_enforce) takes it from the caller's ARN.
    type: str
    default: aws
seealso:
  - module: awssec.mfa.iam_mfa_enforce
"""

EXAMPLES = r"""
- name: Create the policy with amazon.aws
  amazon.aws.iam_managed_policy:
    name: RequireMFA
    policy: "{{ lookup('awssec.mfa.mfa_policy') | to_json }}"

- name: Save a variant that also allows reading the account summary without MFA
  ansible.builtin.copy:
    content: "{{ lookup('awssec.mfa.mfa_policy', allow_without_mfa=['iam:GetAccountSummary']) | to_nice_json }}"
    dest: require-mfa.json
    mode: "0644"

- name: The same policy for an account in AWS GovCloud (US)
  ansible.builtin.debug:
    msg: "{{ lookup('awssec.mfa.mfa_policy', partition='aws-us-gov') }}"
"""

RETURN = r"""
_raw:
  description: The policy document (one item).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError(f"mfa_policy takes options only, not terms: {terms!r}")
        self.set_options(var_options=variables, direct=kwargs)
        try:
            document = mfa_policy(
                allow_without_mfa=self.get_option("allow_without_mfa"),
                allow_password_change=self.get_option("allow_password_change"),
                allow_access_key_self_service=self.get_option("allow_access_key_self_service"),
                partition=self.get_option("partition"),
            )
        except ValueError as e:
            raise AnsibleLookupError(f"mfa_policy: {e}")
        return [document]
