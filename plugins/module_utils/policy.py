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
from typing import Dict, List, Optional, Sequence
from urllib.parse import unquote

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


# --- does a user's set of policies make access keys useless without MFA? -------------------------------------------------
#
# Requests signed with long-term access keys carry no aws:MultiFactorAuthPresent, so only the forms that also match
# when the key is absent refuse them: BoolIfExists ... false, Null aws:MultiFactorAuthAge true and
# NumericGreaterThanIfExists aws:MultiFactorAuthAge. A plain Bool ... false denies console and session requests made
# without MFA, but never a request signed with an access key: it does not protect keys.

def _values(value) -> List[str]:
    return [str(v).lower() for v in (value if isinstance(value, list) else [value])]


def _refuses_without_mfa(operator: str, entries) -> bool:
    if not isinstance(entries, dict) or len(entries) != 1:
        return False
    key, value = next(iter(entries.items()))
    key = key.lower()
    if operator == "BoolIfExists" and key == "aws:multifactorauthpresent":
        return _values(value) == ["false"]
    if operator == "Null" and key == "aws:multifactorauthage":
        return _values(value) == ["true"]
    return operator == "NumericGreaterThanIfExists" and key == "aws:multifactorauthage"


def _as_list(value) -> List:
    return value if isinstance(value, list) else [value]


def _leaves_only_mfa_setup(not_actions) -> bool:
    """A NotAction that exempts only single IAM and STS actions (such as setting up MFA), never a whole service."""
    return all(isinstance(a, str) and a.split(":", 1)[0].lower() in ("iam", "sts") and not a.endswith("*") for a in _as_list(not_actions))


def decode_document(document) -> Dict:
    """A policy document as IAM's query API returns it (URL-encoded JSON) or as boto3 may already have parsed it."""
    return json.loads(unquote(document)) if isinstance(document, str) else document


def denies_without_mfa(document) -> bool:
    """Has the identity policy a Deny, of everything but MFA set-up, on every resource, for requests without MFA
    (access keys included), and on no other condition?"""
    document = decode_document(document)
    for statement in _as_list((document or {}).get("Statement") or []):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny" or _as_list(statement.get("Resource")) != ["*"]:
            continue
        if "Action" in statement:
            covered = _as_list(statement["Action"]) == ["*"]
        else:
            covered = "NotAction" in statement and _leaves_only_mfa_setup(statement["NotAction"])
        condition = statement.get("Condition") or {}
        if covered and condition and all(_refuses_without_mfa(op, entries) for op, entries in condition.items()):
            return True
    return False


def keys_protection(details: Dict) -> Dict[str, Optional[bool]]:
    """For each user of a GetAccountAuthorizationDetails result (users, groups, managed policies): are their access keys
    refused without MFA by a policy that applies to them (inline or managed, on the user or on a group)? None when a
    policy that applies could not be read (a managed policy missing from the result) and none that was read protects."""
    managed = {}
    for policy in details.get("Policies", []):
        default = next((v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None)
        managed[policy["Arn"]] = None if default is None else denies_without_mfa(default.get("Document"))
    groups = {g["GroupName"]: g for g in details.get("GroupDetailList", [])}

    def holder(entity: Dict, inline_key: str) -> List[Optional[bool]]:
        found = [denies_without_mfa(p.get("PolicyDocument")) for p in entity.get(inline_key, [])]
        return found + [managed.get(p["PolicyArn"]) for p in entity.get("AttachedManagedPolicies", [])]

    protection = {}
    for user in details.get("UserDetailList", []):
        found = holder(user, "UserPolicyList")
        for name in user.get("GroupList", []):
            found += holder(groups[name], "GroupPolicyList") if name in groups else [None]
        protection[user["UserName"]] = True if True in found else (None if None in found else False)
    return protection
