#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_mfa_org_facts
short_description: MFA compliance facts for many AWS accounts, from one process
version_added: 0.1.0
description:
  - Reports on many accounts - those of O(accounts), those of the AWS Organization with O(organization), or both - in
    one process, O(concurrency) accounts at a time, so that one account's credential report or throttling does not hold
    the others.
  - Each account is reached through its C(role_arn) (sts:AssumeRole with the run's credentials, session name
    C(awssec-mfa-org-report)), or its C(profile), or the run's credentials, and read by the same code as
    M(awssec.mfa.iam_mfa_facts) with the same options.
  - An account that cannot be reached or read (its role cannot be assumed, access is denied, any AWS error) is reported
    as C(failed) with the reason; the other accounts are reported all the same.
  - Sets the fact C(iam_mfa) (read as C(ansible_facts.iam_mfa)), with the shape the P(awssec.mfa.mfa_org_facts#filter)
    filter gives the per-host playbook's results, so the C(awssec.mfa.mfa_report) role renders it in every format.
  - Read-only; runs the same in check mode. The assumed roles' credentials never appear in the result.
  - The facts are in C(ansible_facts.iam_mfa); no register is needed (registering the result holds a second copy of
    every user).
author:
  - awssec.mfa contributors (@awssec)
options:
  accounts:
    description:
      - Accounts to report on. Each has C(id) (12 digits) and optionally C(name), C(email), and how to reach it -
        C(role_arn), or C(profile), or neither (the run's credentials). The same as the static accounts of the
        C(awssec.mfa.aws_accounts) inventory.
      - An account also listed by O(organization) is reached as given here.
    type: list
    elements: dict
    default: []
  organization:
    description:
      - Add the ACTIVE accounts of the AWS Organization that the run's credentials belong to (organizations:DescribeOrganization
        and organizations:ListAccounts, from its management account or a delegated administrator), as the
        C(awssec.mfa.aws_accounts) inventory does.
      - Each is reached through O(role_name) in it, except the account of the run's credentials, reached with them.
      - The Organization's central root access (iam:ListOrganizationsFeatures, which members are refused) is read once
        with the run's credentials and given to every member's C(root.credentials_management).
    type: bool
    default: false
  role_name:
    description: With O(organization), the role assumed in each account (in the Organization's partition).
    type: str
    default: OrganizationAccountAccessRole
  include_management_account:
    description: With O(organization), whether the Organization's management account is reported too.
    type: bool
    default: true
  concurrency:
    description:
      - How many accounts are read at the same time (threads). Each waits mostly on AWS (the credential report's
        generation, each request's round trip), so the waits of several accounts overlap.
      - From V(1) (one account after the other) to V(64). Within an account, users are read one by one.
    type: int
    default: 16
  evidence_days:
    description:
      - As in M(awssec.mfa.iam_mfa_facts) - the console sign-ins without MFA of the last O(evidence_days) days, read from
        each account's CloudTrail event history in the module's O(region), which must be set. V(0) reads none.
    type: int
    default: 0
  key_ids:
    description:
      - As in M(awssec.mfa.iam_mfa_facts) - read with iam:ListAccessKeys the key ids of the users with a key finding, in
        each account.
    type: bool
    default: false
extends_documentation_fragment:
  - awssec.mfa.selection
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - The run's credentials need C(sts:AssumeRole) on each C(role_arn) and, with O(organization),
    C(organizations:DescribeOrganization), C(organizations:ListAccounts) and C(sts:GetCallerIdentity).
    In each account, the permissions of M(awssec.mfa.iam_mfa_facts).
  - O(region), O(endpoint_url), O(profile) and the keys apply to every account; an account's C(profile) replaces the
    run's credentials for that account only.
  - The C(awssec.mfa.org_report) playbook runs this module by default (C(mfa_report_fanout=module)) with the accounts of
    its inventory; C(mfa_report_fanout=hosts) runs M(awssec.mfa.iam_mfa_facts) on each account host instead.
seealso:
  - module: awssec.mfa.iam_mfa_facts
  - plugin: awssec.mfa.aws_accounts
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: Every account of the Organization, 16 at a time
  awssec.mfa.iam_mfa_org_facts:
    organization: true

- name: Console users without MFA, in every account
  ansible.builtin.debug:
    msg: "{{ ansible_facts.iam_mfa.summary.console_without_mfa }}"

- name: Accounts that could not be reported, and why
  ansible.builtin.debug:
    msg: "{{ item.account_name }}: {{ item.error }}"
  loop: "{{ ansible_facts.iam_mfa.accounts | selectattr('status', '==', 'failed') }}"
  loop_control:
    label: "{{ item.account_name }}"

- name: Two accounts, one through a role and one through a profile, with exact per-user reads
  awssec.mfa.iam_mfa_org_facts:
    source: live
    exclude_users: ["svc-*"]
    accounts:
      - id: "111111111111"
        name: prod
        role_arn: arn:aws:iam::111111111111:role/SecurityAudit
      - id: "222222222222"
        name: dev
        profile: dev-admin

- name: Render it as the report playbook does
  ansible.builtin.include_role:
    name: awssec.mfa.mfa_report
  vars:
    mfa_report_facts: "{{ ansible_facts.iam_mfa }}"
"""

RETURN = r"""
ansible_facts:
  description: The facts this module sets.
  returned: always
  type: dict
  contains:
    iam_mfa:
      description:
        - The facts of every account as one report, read as C(ansible_facts.iam_mfa). It has the shape of
          M(awssec.mfa.iam_mfa_facts)'s C(iam_mfa) (see its RETURN), with the differences below.
      returned: always
      type: dict
      contains:
        account_id:
          description: How many accounts, and how many of them failed.
          type: str
          sample: "24 accounts, 1 failed"
        generated_at:
          description: When these facts were made (UTC, ISO 8601).
          type: str
        source:
          description: The sources the accounts' data came from, joined by C(/); V(none) when no account was read.
          type: str
          sample: credential_report
        api_calls:
          description: The AWS requests sent for all accounts (retries and sts:AssumeRole included).
          type: int
          sample: 240
        options:
          description: The selection and classification options in force.
          type: dict
        accounts:
          description: One row per account, sorted by name.
          type: list
          elements: dict
          contains:
            account_id:
              description: The account's ID.
              type: str
            account_name:
              description: Its name (its ID when it has none).
              type: str
            status:
              description: V(ok), or V(failed) when it could not be reported.
              type: str
            error:
              description: Why it failed (the AWS error code and message); null when V(ok).
              type: str
              sample: "Failed to assume arn:aws:iam::111111111111:role/OrganizationAccountAccessRole (sts:AssumeRole): AccessDenied: ..."
            summary:
              description: The account's summary, as in M(awssec.mfa.iam_mfa_facts); null when V(failed).
              type: dict
            root:
              description: The account's root user, as in M(awssec.mfa.iam_mfa_facts); null when V(failed).
              type: dict
            api_calls:
              description: The AWS requests sent for the account, its sts:AssumeRole included (retries too).
              type: int
              sample: 10
            seconds:
              description: How long the account took, from assuming its role to its facts (wall-clock seconds).
              type: float
              sample: 3.2
        users:
          description: Every account's users, as in M(awssec.mfa.iam_mfa_facts), each with C(account_id) and C(account_name).
          type: list
          elements: dict
        summary:
          description: The figures over every reported account's users, as in M(awssec.mfa.iam_mfa_facts).
          type: dict
        root:
          description:
            - C(mfa_enabled) (every reported account's root user has MFA), C(access_keys_present) (any has keys) and
              C(reasons) (those of any account).
          type: dict
        warnings:
          description: The accounts' warnings, each prefixed with its account's name, and one per failed account.
          type: list
          elements: str
"""


from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.awssec.mfa.plugins.module_utils.classify import SELECTION_ARGSPEC
from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY, warn
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, failure
from ansible_collections.awssec.mfa.plugins.module_utils.fanout import Connector, check_org_params, org_facts

ARGSPEC = dict(
    SELECTION_ARGSPEC,
    evidence_days={"type": "int", "default": 0},
    key_ids={"type": "bool", "default": False},
    accounts={"type": "list", "elements": "dict", "default": []},
    organization={"type": "bool", "default": False},
    role_name={"type": "str", "default": "OrganizationAccountAccessRole"},
    include_management_account={"type": "bool", "default": True},
    concurrency={"type": "int", "default": 16},
)


def main():
    module = AnsibleAWSModule(argument_spec=ARGSPEC, supports_check_mode=True)
    problems = check_org_params(module.params, module.region)
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        facts = org_facts(module.params, lambda name: module.client(name, retry_decorator=RETRY), lambda: Connector(get_aws_connection_info(module)))
    except AWSError as e:
        module.fail_json(**failure(e))  # the message as error_text writes it, with AWS's error code and request id
    except ValueError as e:
        module.fail_json(msg=str(e))
    for warning in facts["warnings"]:
        warn(module, warning)
    module.exit_json(changed=False, ansible_facts={"iam_mfa": facts})


if __name__ == "__main__":
    main()
