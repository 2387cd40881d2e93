#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_mfa_enforce
short_description: Enforce MFA on non-compliant IAM users, and undo it
version_added: 0.1.0
description:
  - Gathers and classifies the IAM users of an account as M(awssec.mfa.iam_mfa_facts) does, then acts on
    the C(non-compliant) ones (the targets) - exempted and grace-period users are left alone and listed.
  - For each target, by default, sets its active access keys to C(Inactive) and attaches the MFA policy
    (the document of the P(awssec.mfa.mfa_policy#lookup) lookup), which denies everything but MFA set-up until the user signs in with MFA.
  - Run it with C(--check --diff) first. Check mode reads the targets live and plans, and changes nothing.
  - Before changing anything, the module reads every target again live (MFA devices, access keys, login profile,
    attached policies, tags) and plans from that. A user who enabled MFA since the report is skipped with reason C(mfa_enabled_since_report).
  - The identity that runs the module (sts:GetCallerIdentity) is never acted on; it is skipped with reason C(caller_identity).
  - What was done is recorded on the user as tags - C(awssec:mfa-enforced-at) (the first time),
    C(awssec:mfa-changed-at) (the last time), C(awssec:mfa-disabled-keys), C(awssec:mfa-attached-policy) and
    C(awssec:mfa-deleted-console). The actions are written down first in C(awssec:mfa-pending), and recorded as done
    once their calls succeeded (a failed call's action is not). O(state=restored) uses them to undo exactly what enforcement
    did, for users who now have MFA - the keys it disabled are re-activated, the policy is detached only if it attached it;
    users still without MFA are listed with reason C(still_without_mfa) and left as they are. Actions left pending by a
    run that stopped midway are not undone; a note says which.
  - The policy this module creates carries the tag C(awssec:mfa-managed=true). A policy of the same name without it is
    someone else's. It is attached as it is when its document is the same, and never changed - the module fails, before
    changing anything, when its document differs.
  - One user's failure does not stop the others; the module fails at the end, listing what failed and what was done.
  - Idempotent. A second run finds nothing to do and returns C(changed=false).
author:
  - awssec.mfa contributors (@awssec)
extends_documentation_fragment:
  - awssec.mfa.selection
  - awssec.mfa.selection.live_reads
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
options:
  state:
    description:
      - V(enforced) acts on the non-compliant users.
      - V(restored) undoes an earlier enforcement for users who now have MFA.
    type: str
    choices: [enforced, restored]
    default: enforced
  disable_access_keys:
    description:
      - Set the active access keys of targets to C(Inactive). Applications using these keys stop working.
      - With O(state=restored), has no effect; the keys recorded in the tag are re-activated.
    type: bool
    default: true
  attach_policy:
    description:
      - Create the customer managed policy O(policy_name) if it is missing, give it a new default version
        if its document differs, and attach it to targets.
      - With O(state=restored), detach it from the users it was attached to by enforcement (recorded in the tag
        C(awssec:mfa-attached-policy)); a policy attached otherwise stays, with a note.
    type: bool
    default: true
  policy_name:
    description: Name of the customer managed policy that requires MFA.
    type: str
    default: RequireMFA
  policy_options:
    description: What the policy allows without MFA; the same options as the P(awssec.mfa.mfa_policy#lookup) lookup.
    type: dict
    default: {}
    suboptions:
      allow_without_mfa:
        description: Extra IAM actions allowed before signing in with MFA, such as V(iam:GetAccountSummary).
        type: list
        elements: str
        default: []
      allow_password_change:
        description: Let users change their own password without MFA (needed at the first sign-in).
        type: bool
        default: true
      allow_access_key_self_service:
        description: Let users manage their own access keys, once signed in with MFA.
        type: bool
        default: true
  disable_console_access:
    description:
      - Delete the login profile of targets, so they cannot sign in to the console.
      - B(Destructive) - the password is lost and O(state=restored) cannot bring it back; the user needs a new password.
        Restoring says so in RV(actions[].notes) and in a warning.
    type: bool
    default: false
  targets:
    description:
      - Who enforcement acts on. V(non-compliant) - the users without MFA that the selection options make non-compliant
        (their keys are disabled, the policy attached...).
      - V(keys_not_mfa_protected) - the users with MFA whose active access keys work without it (reason
        C(keys_not_mfa_protected), see O(require_mfa_policy_for_keys)); only the policy is attached, which makes their keys
        need MFA too, and the keys stay active. Needs O(attach_policy=true). Such a user who is C(non-compliant) (with
        O(require_mfa_policy_for_keys=true)) is treated so with V(non-compliant) alone.
      - With O(state=restored), a policy attached to protect keys is detached only when V(keys_not_mfa_protected) is
        listed; otherwise it stays, with a note.
    type: list
    elements: str
    choices: [non-compliant, keys_not_mfa_protected]
    default: [non-compliant]
  max_affected:
    description:
      - If more users than this would be acted on, fail before changing anything and list them.
      - In check mode the whole plan is shown instead, with a warning that applying it would be refused (and
        RV(over_max_affected)).
      - Counted twice before any change - on the gathered data (a user already enforced with nothing left to change is
        not counted), then on the plans made from the live reads, which stop as soon as the count is exceeded.
    type: int
    default: 10
  lock_path:
    description:
      - A lock file (made when missing) held for the whole run, from the first read to the last change. Runs on this
        machine that name the same file act one after another, each reading users after the one before it has acted, so
        that two runs for the same user at once change IAM once - the MFA guard's, which handles the changes of a user,
        or two deliveries of one change, at the same time.
      - The file is opened without following a symbolic link and only when it is a regular file of this user.
    type: path
notes:
  - Permissions needed, besides those of M(awssec.mfa.iam_mfa_facts), are C(iam:ListMFADevices), C(iam:ListAccessKeys),
    C(iam:GetLoginProfile), C(iam:ListAttachedUserPolicies), C(iam:ListUserTags), C(iam:TagUser), C(iam:UntagUser),
    C(iam:UpdateAccessKey), C(iam:AttachUserPolicy), C(iam:DetachUserPolicy), C(iam:DeleteLoginProfile), and on the policy
    C(iam:GetPolicy), C(iam:ListPolicies) (a policy of that name at another path), C(iam:GetPolicyVersion), C(iam:CreatePolicy),
    C(iam:TagPolicy) (its ownership tag), C(iam:CreatePolicyVersion), C(iam:ListPolicyVersions), C(iam:DeletePolicyVersion).
  - Supports C(--diff) - per user, the access keys, console access, policy attachment and enforcement tags before and after.
  - Calls per target are at most 10 (5 reads, the tag, up to 2 keys, the policy, the login profile).
    The gathering calls are those of M(awssec.mfa.iam_mfa_facts).
seealso:
  - module: awssec.mfa.iam_mfa_facts
  - plugin: awssec.mfa.mfa_policy
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Preview (run the play with --check --diff)
  awssec.mfa.iam_mfa_enforce:
    exclude_users: ["svc-*"]
  check_mode: true
  register: preview

- name: Enforce on at most 25 users, also removing console passwords
  awssec.mfa.iam_mfa_enforce:
    exclude_users: ["svc-*", "break-glass-*"]
    grace_period_days: 14
    disable_console_access: true
    max_affected: 25

- name: Also make the access keys of users with MFA need MFA (the policy is attached, the keys stay active)
  awssec.mfa.iam_mfa_enforce:
    targets: [non-compliant, keys_not_mfa_protected]

- name: Only some users, with a policy that also allows reading the account summary without MFA
  awssec.mfa.iam_mfa_enforce:
    include_users: [alice.brown, old.account]
    policy_name: RequireMFA
    policy_options:
      allow_without_mfa: [iam:GetAccountSummary]

- name: Undo for the users who have set up MFA since
  awssec.mfa.iam_mfa_enforce:
    state: restored
"""

RETURN = r"""
changed:
  description: Whether anything changed (in check mode, whether anything would change).
  returned: always
  type: bool
state:
  description: The O(state) the module ran with.
  returned: always
  type: str
policy_arn:
  description: The ARN of the MFA policy (null when O(attach_policy=false)).
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:policy/RequireMFA
policy_change:
  description: What was (or would be) done to the policy itself - V(none), V(create) or V(update).
  returned: always
  type: str
actions:
  description: One entry per target user (and the caller, if it is a target).
  returned: always
  type: list
  elements: dict
  contains:
    username:
      description: The IAM user.
      type: str
    previous_status:
      description: The status the user had when gathered.
      type: str
      sample: non-compliant
    access:
      description: How the user could reach AWS when gathered - V(console+keys), V(console), V(keys) or V(none).
      type: str
    actions:
      description:
        - Actions planned (check mode) or taken, for example V(disable_key:AKIA...), V(attach_policy), V(delete_login_profile),
          V(protect_keys) (the policy attached to a user with MFA, keys left active); when restoring V(enable_key:AKIA...),
          V(detach_policy), V(remove_tags).
        - For a failed user, the actions done before the failure.
      type: list
      elements: str
    justification:
      description: Why the user is a target.
      type: str
      sample: Console access without MFA
    target:
      description: Which of O(targets) the user is - V(non-compliant) or V(keys_not_mfa_protected).
      type: str
      sample: non-compliant
    result:
      description: V(done), V(planned) (check mode), V(skipped) or V(failed).
      type: str
    reason:
      description:
        - For skipped users - V(mfa_enabled_since_report), V(keys_protected_since_report) (a policy already attached, or no
          active key left), V(caller_identity) or V(still_without_mfa).
      type: str
      returned: when skipped
    notes:
      description:
        - When restoring, what is left as it is and why (also given as warnings). The policy stays attached where
          this tool did not record attaching it, or attached it to protect keys (see O(targets)); a console password
          deleted by enforcement cannot come back.
      type: list
      elements: str
      returned: when restoring leaves something as it is
    error:
      description: For failed users, what failed; null otherwise.
      type: str
    before:
      description: The live state read right before acting (mfa_enabled, access_keys, console_access, policy_attached, tags).
      type: dict
      returned: when the user was read
    after:
      description: The state once the actions are done.
      type: dict
      returned: when the user was read
summary:
  description: Totals.
  returned: always
  type: dict
  contains:
    users_affected:
      description: Users acted on (or that would be, in check mode).
      type: int
    keys_disabled:
      description: Access keys set to Inactive.
      type: int
    keys_enabled:
      description: Access keys re-activated (O(state=restored)).
      type: int
    policies_attached:
      description: Users the policy was attached to.
      type: int
    keys_protected:
      description: Of those, users with MFA the policy was attached to so that their keys need MFA (O(targets)).
      type: int
    policies_detached:
      description: Users the policy was detached from (O(state=restored)).
      type: int
    consoles_disabled:
      description: Login profiles deleted.
      type: int
    skipped:
      description: Targets left alone (see RV(actions[].reason)).
      type: int
    failed:
      description: Targets where something failed.
      type: int
    exempted:
      description: Exempted users, with C(username), C(reason) and C(until).
      type: list
      elements: dict
    grace_period:
      description: Users in their grace period, with C(username) and C(days_remaining).
      type: list
      elements: dict
over_max_affected:
  description:
    - In check mode, the users the plan would act on when they are more than O(max_affected) - applying this plan would be
      refused (a warning says so and how to raise the limit). The preview still shows the whole plan.
  returned: in check mode, when more users than O(max_affected) would be acted on
  type: list
  elements: str
api_calls:
  description: How many AWS calls the module made, gathering included.
  returned: always
  type: int
"""

import contextlib
from datetime import datetime, timezone

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter, RETRY, fast_timestamps, warn
from ansible_collections.awssec.mfa.plugins.module_utils.enforce import ENFORCE_ARGSPEC, check_params, enforce_account
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError
from ansible_collections.awssec.mfa.plugins.module_utils.guard import exclusive


def main():
    module = AnsibleAWSModule(argument_spec=ENFORCE_ARGSPEC, supports_check_mode=True)
    problems = check_params(module.params)  # before any call
    if problems:
        module.fail_json(msg="; ".join(problems))
    counter = CallCounter()
    iam = counter.watch(fast_timestamps(module.client("iam", retry_decorator=RETRY)))
    sts = counter.watch(module.client("sts", retry_decorator=RETRY))
    try:
        with exclusive(module.params["lock_path"]) if module.params["lock_path"] else contextlib.nullcontext():
            result, failure, warnings = enforce_account(iam, sts, module.params, module.check_mode, module._diff, datetime.now(timezone.utc))
    except AWSError as e:
        module.fail_json_aws_error(e)
    except OSError as e:
        module.fail_json(msg=f"lock_path: {e}; nothing was changed")
    for warning in warnings:
        warn(module, warning)
    result["api_calls"] = counter.count
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
