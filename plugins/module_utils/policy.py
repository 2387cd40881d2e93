# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The enforcement policy: one document, used by the ``mfa_policy`` lookup and by ``iam_mfa_enforce``.

It is the pattern AWS documents for "MFA-authenticated IAM users manage their own credentials":
users may always set up their own MFA device (and, if allowed, change their password); everything
else is denied until they sign in with MFA. It is an identity policy, so it has no ``Principal``.
"""

from __future__ import annotations

import json
import re
from typing import Dict, List, Sequence

from ansible_collections.awssec.mfa.plugins.module_utils.records import PARTITION

# Actions a user needs, without MFA, to see and set up an MFA device and then get an MFA session.
MFA_SETUP_ACTIONS = (
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:GetUser",
    "iam:GetMFADevice",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:ResyncMFADevice",
    "sts:GetSessionToken",
)
PASSWORD_ACTIONS = ("iam:ChangePassword", "iam:GetAccountPasswordPolicy")
ACCESS_KEY_ACTIONS = (
    "iam:CreateAccessKey",
    "iam:DeleteAccessKey",
    "iam:GetAccessKeyLastUsed",
    "iam:ListAccessKeys",
    "iam:UpdateAccessKey",
)
# The options of mfa_policy(), as an argument spec (the module's policy_options; the lookup documents the same).
POLICY_OPTIONS_ARGSPEC = {
    "allow_without_mfa": {"type": "list", "elements": "str", "default": []},
    "allow_password_change": {"type": "bool", "default": True},
    "allow_access_key_self_service": {"type": "bool", "default": True},
}
ACTION_PATTERN = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")


def check_actions(actions: Sequence[str]) -> List[str]:
    """Problems with extra actions, each naming the value at fault."""
    problems = []
    for action in actions:
        if not isinstance(action, str) or not ACTION_PATTERN.match(action):
            problems.append(f"allow_without_mfa: {action!r} is not an IAM action like 'iam:GetUser'")
        elif action in ("*", "*:*") or action.endswith(":*"):
            problems.append(f"allow_without_mfa: {action!r} would allow a whole service without MFA")
    return problems


def mfa_policy(
    allow_without_mfa: Sequence[str] = (),
    allow_password_change: bool = True,
    allow_access_key_self_service: bool = True,
    partition: str = "aws",
) -> Dict:
    """The enforcement policy document, as a dict, for an account in ``partition`` (its resources' ARNs).

    ``allow_without_mfa`` adds actions to those a user may call before signing in with MFA
    (the ``NotAction`` of the Deny). ``allow_password_change`` lets users change their own password
    without MFA (needed at first sign-in). ``allow_access_key_self_service`` lets users manage their
    own access keys once signed in with MFA. ``partition`` is the account's: ``aws``, ``aws-us-gov``,
    ``aws-cn`` ... (an ARN of another partition matches nothing there).
    """
    problems = check_actions(allow_without_mfa)
    if not PARTITION.match(str(partition)):
        problems.append(f"partition {partition!r} is not an AWS partition (aws, aws-us-gov, aws-cn, ...)")
    if problems:
        raise ValueError("; ".join(problems))
    own_user = f"arn:{partition}:iam::*:user/${{aws:username}}"
    statements = [
        {
            "Sid": "AllowViewAccountInfo",
            "Effect": "Allow",
            "Action": sorted(("iam:ListVirtualMFADevices",) + (("iam:GetAccountPasswordPolicy",) if allow_password_change else ())),
            "Resource": "*",
        },
        {
            "Sid": "AllowManageOwnVirtualMFADevice",
            "Effect": "Allow",
            "Action": ["iam:CreateVirtualMFADevice"],
            "Resource": f"arn:{partition}:iam::*:mfa/*",
        },
        {
            "Sid": "AllowManageOwnUserMFA",
            "Effect": "Allow",
            "Action": ["iam:DeactivateMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ResyncMFADevice"],
            "Resource": own_user,
        },
    ]
    if allow_password_change:
        statements.append({"Sid": "AllowManageOwnPasswords", "Effect": "Allow", "Action": ["iam:ChangePassword"], "Resource": own_user})
    if allow_access_key_self_service:
        statements.append({"Sid": "AllowManageOwnAccessKeys", "Effect": "Allow", "Action": list(ACCESS_KEY_ACTIONS), "Resource": own_user})
    allowed = set(MFA_SETUP_ACTIONS) | set(allow_without_mfa)
    if allow_password_change:
        allowed |= set(PASSWORD_ACTIONS)
    statements.append(
        {
            "Sid": "DenyAllExceptListedIfNoMFA",
            "Effect": "Deny",
            "NotAction": sorted(allowed),
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_json(document: Dict) -> str:
    """The document as IAM stores it for comparison: compact, keys sorted."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
