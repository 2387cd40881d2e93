#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_mfa_facts
short_description: MFA compliance facts for the IAM users of an AWS account
version_added: 0.1.0
description:
  - Reads every IAM user of an account and classifies each as C(compliant), C(non-compliant),
    C(grace-period) or C(exempted), with a risk (C(high), C(medium), C(low)) and the reasons.
  - A user is C(compliant) when an MFA device is active, or when the user has neither a console
    password nor an active access key. Without MFA, a console password or an active access key
    makes the user C(non-compliant), unless the user is exempted or younger than O(grace_period_days).
  - Reasons are C(console_without_mfa), C(active_keys_without_mfa), C(key_older_than_max_age),
    C(unused_credentials), C(multiple_active_keys), C(virtual_mfa_only), C(keys_not_mfa_protected),
    C(not_phishing_resistant), C(signed_in_without_mfa), C(exemption_without_reason) (an empty exemption tag - exempted
    for ever, with no reason) and C(exemption_expired) (the tag's C(until=) date has passed - no longer exempted).
    docs/findings.md in the collection compares each with the nearest checks of other tools.
  - The root user gets its own reasons, C(root_without_mfa), C(root_virtual_mfa_only) and C(root_access_keys)
    (CIS AWS Foundations 1.4 to 1.6), and in an Organization that manages root access centrally
    C(root_credentials_present). A root user without a password (as in a member account whose root credentials the
    Organization deleted) cannot sign in, so no MFA is no finding there.
  - Read-only; runs the same in check mode.
  - Sets the fact C(iam_mfa), read as C(ansible_facts.iam_mfa) (or from the registered result, as
    C(RESULT.ansible_facts.iam_mfa)). It is returned once, as a fact only. The top-level variable C(iam_mfa) exists
    only while ansible-core injects facts as variables (C(INJECT_FACTS_AS_VARS), whose default ansible-core deprecates),
    so do not rely on it.
author:
  - awssec.mfa contributors (@awssec)
options:
  evidence_days:
    description:
      - When more than V(0), the console sign-ins of the last O(evidence_days) days are read from CloudTrail's event
        history (cloudtrail:LookupEvents of C(ConsoleLogin), 50 events a request, at most 2 requests a second as
        CloudTrail allows). Each user gets C(sign_ins_without_mfa), the count and the last of their successful sign-ins
        with C(MFAUsed) C(No), and the reason C(signed_in_without_mfa) when there was one. It does not change the status.
      - CloudTrail keeps 90 days of events, in the Region of the sign-in endpoint (for most sign-ins, C(us-east-1)); the
        events are read in the module's O(region), which must be set.
    type: int
    default: 0
  key_ids:
    description:
      - The credential report names a user's keys C(key 1) and C(key 2), without their ids. With V(true), the ids of the
        keys of the users with a key finding (C(active_keys_without_mfa), C(key_older_than_max_age), C(unused_credentials),
        C(multiple_active_keys), C(keys_not_mfa_protected)) are read with iam:ListAccessKeys, one call per such user
        (counted in C(api_calls)), so that the report says which key is old or unused. With V(false) (the default, a
        report of a few calls), C(access_key_id) stays null for the keys of users read from the credential report; the
        report says C(key 1 created <date>) either way.
    type: bool
    default: false
extends_documentation_fragment:
  - awssec.mfa.selection
  - awssec.mfa.selection.live_reads
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Permissions needed with O(source=credential_report) are C(iam:GenerateCredentialReport), C(iam:GetCredentialReport),
    C(iam:GetAccountAuthorizationDetails), C(iam:ListVirtualMFADevices), C(iam:GetAccountSummary) and C(sts:GetCallerIdentity).
  - Permissions needed with O(source=live) are C(iam:ListUsers), C(iam:GetLoginProfile), C(iam:ListMFADevices),
    C(iam:ListAccessKeys), C(iam:GetAccessKeyLastUsed), C(iam:ListUserTags), C(iam:ListVirtualMFADevices),
    C(iam:GetAccountSummary) and C(sts:GetCallerIdentity).
  - Without C(iam:ListVirtualMFADevices) the module still works and reports MFA device types as C(unknown).
  - Both sources also call C(iam:ListOrganizationsFeatures) (without it, centralized root access is C(unknown)); with
    O(require_phishing_resistant_mfa), C(iam:ListMFADevices); with O(evidence_days), C(cloudtrail:LookupEvents).
"""

EXAMPLES = r"""
- name: Gather MFA compliance facts for the account of the current credentials
  awssec.mfa.iam_mfa_facts:

- name: Exempt service users, give new users 14 days, and use exact per-user reads
  awssec.mfa.iam_mfa_facts:
    source: live
    grace_period_days: 14
    exclude_users:
      - "svc-*"
      - automation-deploy

# The facts are in ansible_facts.iam_mfa; no register is needed (registering the result holds a second copy of
# every user, which costs seconds in Ansible for thousands of users).
- name: Fail when any user is non-compliant
  ansible.builtin.assert:
    that: ansible_facts.iam_mfa.summary.counts['non-compliant'] == 0
    fail_msg: >-
      Without MFA: {{ ansible_facts.iam_mfa.users | selectattr('status', '==', 'non-compliant') | map(attribute='username') | join(', ') }}

- name: Console users without MFA
  ansible.builtin.debug:
    msg: "{{ ansible_facts.iam_mfa.summary.console_without_mfa }}"

- name: Who signed in to the console without MFA in the last 30 days, and who lacks a security key
  awssec.mfa.iam_mfa_facts:
    region: us-east-1
    evidence_days: 30
    require_phishing_resistant_mfa: true

- name: Users who signed in without MFA
  ansible.builtin.debug:
    msg: "{{ item.username }}: {{ item.sign_ins_without_mfa.count }} sign-ins without MFA, the last {{ item.sign_ins_without_mfa.last }}"
  loop: "{{ ansible_facts.iam_mfa.users | selectattr('reasons', 'contains', 'signed_in_without_mfa') }}"
  loop_control:
    label: "{{ item.username }}"

- name: Only break-glass users, against a profile and a local endpoint
  awssec.mfa.iam_mfa_facts:
    profile: security-audit
    include_users: [admin-break-glass, emergency-access]
    endpoint_url: http://127.0.0.1:5000
"""

RETURN = r"""
ansible_facts:
  description: The facts this module sets.
  returned: always
  type: dict
  contains:
    iam_mfa:
      description: The MFA compliance facts of the account, read as C(ansible_facts.iam_mfa).
      returned: always
      type: dict
      contains:
        account_id:
          description: The AWS account id, from sts:GetCallerIdentity.
          type: str
          sample: "123456789012"
        partition:
          description: The account's partition (V(aws), V(aws-us-gov), V(aws-cn) ...), from the caller's ARN.
          type: str
          sample: aws
        generated_at:
          description: When these facts were made (UTC, ISO 8601).
          type: str
          sample: "2024-01-15T10:00:00+00:00"
        source:
          description: The source the data came from, V(credential_report) or V(live).
          type: str
          sample: credential_report
        report_generated_at:
          description: The credential report's GeneratedTime; null with O(source=live).
          type: str
          sample: "2024-01-15T09:58:12+00:00"
        report_age_seconds:
          description:
            - How old the credential report was when the facts were built; null with O(source=live).
            - AWS serves the report it generated up to 4 hours ago; past O(max_report_age), the users it calls
              C(non-compliant) or C(grace-period) were read live (see RV(ansible_facts.iam_mfa.warnings)).
          type: int
          sample: 7260
        api_calls:
          description: How many AWS requests the module sent (retries included).
          type: int
          sample: 9
        mfa_device_reads:
          description:
            - The iam:ListMFADevices calls made with O(source=credential_report), one for each user whose MFA the report
              says is on and who has no virtual device assigned now (a TOTP token, a security key, or a device removed since
              the report); with O(require_hardware_mfa), also for the users with virtual devices.
          type: int
          sample: 0
        report_unverified_users:
          description:
            - The users a credential report older than a minute (and younger than O(max_report_age)) calls C(non-compliant)
              or C(grace-period), which were not read live - a password or key they removed, or a hardware device or
              security key they enabled, since the report is not seen. A warning names them too. Empty with O(source=live).
            - Enforcement reads every user it would act on live before acting.
          type: list
          elements: str
          sample: []
        evidence:
          description:
            - Where the sign-in evidence came from (O(evidence_days)) - C(days), C(region), C(events) (ConsoleLogin events
              read) and C(calls) (cloudtrail:LookupEvents requests); null when O(evidence_days=0).
          type: dict
          sample: {"days": 30, "region": "us-east-1", "events": 412, "calls": 9}
        options:
          description: The selection and classification options in force.
          type: dict
        users:
          description: One record per selected user, sorted by user name. Empty list when there are none.
          type: list
          elements: dict
          contains:
            username:
              description: The IAM user name.
              type: str
              sample: bob.wilson
            arn:
              description: The user's ARN.
              type: str
            created:
              description: When the user was created (UTC).
              type: str
            days_since_creation:
              description: Whole days since the user was created.
              type: int
              sample: 212
            mfa_enabled:
              description: Whether at least one MFA device is active.
              type: bool
            mfa_devices:
              description:
                - The user's MFA devices. C(serial) is null where the source cannot tell it (a hardware device seen
                  through the credential report).
                - C(type) is V(virtual) (an authenticator app), V(hardware) (a TOTP token; seen through the credential
                  report, any device that is not virtual unless O(require_phishing_resistant_mfa) read it),
                  V(security_key) (a FIDO security key or passkey) or V(unknown).
              type: list
              elements: dict
              sample: [{"serial": "arn:aws:iam::123456789012:u2f/user/ana/yubikey-ABCD", "type": "security_key"}]
            console_access:
              description: Whether the user has a console password (login profile).
              type: bool
            password_last_used:
              description: When the console password was last used, or null.
              type: str
            access_keys:
              description:
                - The user's access keys with C(status) (V(Active) or V(Inactive)), C(created), C(age_days) and C(last_used).
                - C(access_key_id) is set with O(source=live) and null with the credential report, which does not hold key ids.
              type: list
              elements: dict
            active_keys:
              description: How many access keys are active.
              type: int
            keys_mfa_protected:
              description:
                - For a user with an active access key, whether a policy that applies to the user denies requests made
                  without MFA (see O(require_mfa_policy_for_keys)); null for users without active keys, or when the
                  policies could not be read.
              type: bool
            sign_ins_without_mfa:
              description:
                - With O(evidence_days), the user's successful console sign-ins without MFA in that window - C(count)
                  and C(last) (UTC); null when O(evidence_days=0).
              type: dict
              sample: {"count": 3, "last": "2024-01-12T08:14:03+00:00"}
            last_activity:
              description: The latest use of the password or of any access key, or null if never used.
              type: str
            status:
              description: One of V(compliant), V(non-compliant), V(grace-period), V(exempted).
              type: str
              sample: non-compliant
            risk:
              description:
                - V(high) for a non-compliant user; V(medium) in the grace period, or for a compliant or exempted user with a
                  finding other than V(virtual_mfa_only), V(not_phishing_resistant) or V(exemption_expired); V(low) otherwise
                  (the risk table of docs/findings.md).
              type: str
              sample: high
            reasons:
              description: What is wrong, in a fixed vocabulary (see the module description); empty when nothing is.
              type: list
              elements: str
              sample: [console_without_mfa]
            grace_days_remaining:
              description: Days left in the grace period, for C(grace-period) users; null for the others.
              type: int
            exemption:
              description: For C(exempted) users, C(reason), C(until) (a date or null) and C(source) (V(pattern) or V(tag)); null otherwise.
              type: dict
        summary:
          description: Figures over the selected users.
          type: dict
          contains:
            total:
              description: Number of users.
              type: int
            counts:
              description: Users per status.
              type: dict
              sample: {"compliant": 45, "non-compliant": 12, "grace-period": 2, "exempted": 1}
            percentages:
              description: Percentage of users per status (null when there are no users).
              type: dict
            risk_counts:
              description: Users per risk.
              type: dict
            compliance_pct:
              description: Percentage of users that are C(compliant).
              type: float
              sample: 75.0
            console_users_with_mfa_pct:
              description: Among users with console access, the percentage with MFA (null when none has console access).
              type: float
            key_users_with_mfa_pct:
              description: Among users with an active access key, the percentage with MFA (null when none has one).
              type: float
            console_without_mfa:
              description: Non-compliant users with console access and no MFA.
              type: list
              elements: str
            active_keys_without_mfa:
              description: Non-compliant users with active access keys and no MFA.
              type: list
              elements: str
        root:
          description: The root user, from iam:GetAccountSummary, iam:ListVirtualMFADevices and the credential report.
          type: dict
          contains:
            mfa_enabled:
              description: Whether the root user has MFA.
              type: bool
            mfa_type:
              description:
                - V(virtual) when a virtual device is assigned to the root user, V(hardware) when MFA is on without
                  one (a TOTP token or a security key - IAM tells them apart to the root user only), V(none); null
                  when iam:ListVirtualMFADevices was denied.
              type: str
              sample: hardware
            access_keys_present:
              description: Whether the root user has access keys.
              type: bool
            password_last_used:
              description:
                - When the root user's password was last used, from the credential report's C(<root_account>) row; null
                  when never, or with O(source=live).
              type: str
            password_never_used:
              description: The credential report's C(<root_account>) row names no use of the password; null without a report row.
              type: bool
            password_present:
              description: Whether the root user has a password (iam:GetAccountSummary C(AccountPasswordPresent)); null when not told.
              type: bool
            signing_certificates_present:
              description: Whether the root user has signing certificates (C(AccountSigningCertificatesPresent)); null when not told.
              type: bool
            credentials:
              description:
                - What the root user holds - V(none) (no password, access key or signing certificate, the best state, which a
                  member account has once its Organization deleted its root credentials), the kinds it holds joined by
                  commas (V(password), V(access_keys), V(signing_certificates)), or V(unknown).
              type: str
              sample: none
            organization_member:
              description:
                - True for a member account of an Organization (it is refused iam:ListOrganizationsFeatures), false for an
                  account that could read it (the management account or a delegated administrator), null when not known.
              type: bool
            credentials_management:
              description:
                - Whether the Organization manages member accounts' root credentials centrally (iam:ListOrganizationsFeatures)
                  - V(enabled), V(disabled), V(not_in_organization), or V(unknown) when it cannot be read (only the
                  management account and a delegated administrator can read it; in an Organization report every member
                  takes the Organization's answer).
              type: str
              sample: enabled
            sign_ins_without_mfa:
              description: With O(evidence_days), the root user's console sign-ins without MFA (C(count), C(last)); null otherwise.
              type: dict
            reasons:
              description:
                - V(root_without_mfa) (no MFA, and a password or none known), V(root_virtual_mfa_only), V(root_access_keys),
                  V(root_credentials_present) (a member account's root user holds a credential while the Organization manages
                  root access centrally); empty when none applies.
              type: list
              elements: str
              sample: [root_virtual_mfa_only]
        warnings:
          description: Things the module could not read or took as given (also emitted as warnings).
          type: list
          elements: str
"""


from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY, warn
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError
from ansible_collections.awssec.mfa.plugins.module_utils.facts import FACTS_ARGSPEC, account_facts, check_facts_params


def main():
    module = AnsibleAWSModule(argument_spec=FACTS_ARGSPEC,
                              supports_check_mode=True)
    problems = check_facts_params(module.params, module.region)
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        facts = account_facts(lambda service: module.client(service, retry_decorator=RETRY), module.params)
    except AWSError as e:
        module.fail_json_aws_error(e)
    for warning in facts["warnings"]:
        warn(module, warning)
    module.exit_json(changed=False, ansible_facts={"iam_mfa": facts})


if __name__ == "__main__":
    main()
