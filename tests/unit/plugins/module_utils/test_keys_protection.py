# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether a user's policies make their access keys useless without MFA (pure: policy documents in, a verdict out)."""

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions, classify
from ansible_collections.awssec.mfa.plugins.module_utils.policy import denies_without_mfa, keys_protection, mfa_policy
from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, MFADevice, UserRecord

NOW = datetime(2024, 6, 15, tzinfo=timezone.utc)


def deny(condition, **statement):
    body = {"Effect": "Deny", "Resource": "*", "Condition": condition}
    body.update(statement or {"NotAction": ["iam:EnableMFADevice", "iam:ListMFADevices", "sts:GetSessionToken"]})
    return {"Version": "2012-10-17", "Statement": [body]}


NO_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
ALLOW_WITH_MFA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}


@pytest.mark.parametrize("document, protects", [
    (mfa_policy(), True),  # the collection's own RequireMFA
    (mfa_policy(partition="aws-us-gov", allow_without_mfa=["iam:ListUsers"]), True),
    (deny(NO_MFA), True),
    (deny({"BoolIfExists": {"aws:multifactorauthpresent": ["false"]}}), True),  # condition keys are case-insensitive
    (deny({"BoolIfExists": {"aws:MultiFactorAuthPresent": False}}), True),
    (deny({"Null": {"aws:MultiFactorAuthAge": "true"}}), True),
    (deny({"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}), True),
    (deny(NO_MFA, Action="*"), True),
    # A plain Bool never matches requests signed with access keys: they carry no aws:MultiFactorAuthPresent.
    (deny({"Bool": {"aws:MultiFactorAuthPresent": "false"}}), False),
    (deny({"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}), False),
    (ALLOW_WITH_MFA, False),  # the Allow-with-MFA pattern: keys work through any other Allow
    (deny(NO_MFA, NotAction=["s3:*"]), False),  # leaves a whole service open
    (deny(NO_MFA, NotAction=["iam:*"]), False),
    (deny(NO_MFA, Action=["s3:GetObject"]), False),  # denies one action only
    (deny(dict(NO_MFA, IpAddress={"aws:SourceIp": "10.0.0.0/8"})), False),  # on another condition too
    (deny({}), False),
    ({"Statement": [dict(deny(NO_MFA)["Statement"][0], Resource="arn:aws:s3:::bucket/*")]}, False),
    ({"Statement": [dict(deny(NO_MFA)["Statement"][0], Effect="Allow")]}, False),
    (quote(json.dumps(deny(NO_MFA))), True),  # as IAM returns documents, URL-encoded
])
def test_which_documents_refuse_key_requests_without_mfa(document, protects):
    assert denies_without_mfa(document) is protects


def managed(arn, document):
    return {"Arn": arn, "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": False, "Document": {"Statement": []}},
                                              {"VersionId": "v2", "IsDefaultVersion": True, "Document": document}]}


def test_the_policies_that_apply_to_each_user():
    details = {
        "UserDetailList": [
            {"UserName": "attached", "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::1:policy/RequireMFA"}]},
            {"UserName": "inline", "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": deny(NO_MFA)}]},
            {"UserName": "grouped", "GroupList": ["admins"]},
            {"UserName": "group-managed", "GroupList": ["devs"]},
            {"UserName": "nothing", "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::1:policy/Old"}]},
            {"UserName": "unreadable", "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/Missing"}]},
            {"UserName": "unreadable-but-covered", "GroupList": ["gone"], "UserPolicyList": [{"PolicyDocument": deny(NO_MFA)}]},
        ],
        "GroupDetailList": [
            {"GroupName": "admins", "GroupPolicyList": [{"PolicyName": "mfa", "PolicyDocument": deny(NO_MFA)}]},
            {"GroupName": "devs", "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::1:policy/RequireMFA"}]},
        ],
        "Policies": [managed("arn:aws:iam::1:policy/RequireMFA", mfa_policy()),
                     # Only the default version counts: v1 of Old is empty, v2 the Allow-with-MFA pattern.
                     managed("arn:aws:iam::1:policy/Old", ALLOW_WITH_MFA)],
    }
    assert keys_protection(details) == {"attached": True, "inline": True, "grouped": True, "group-managed": True,
                                        "nothing": False, "unreadable": None, "unreadable-but-covered": True}


def _user(mfa=True, keys=1, protected=False):
    return UserRecord(username="u", arn="arn:aws:iam::1:user/u", created=NOW - timedelta(days=100),
                      mfa_devices=[MFADevice("arn:aws:iam::1:mfa/u", "virtual")] if mfa else [],
                      access_keys=[AccessKey("Active", NOW - timedelta(days=10), NOW, f"AKIA{i}") for i in range(keys)],
                      keys_mfa_protected=protected)


def test_a_user_with_mfa_and_unprotected_keys_is_reported_and_non_compliant_only_when_asked():
    reported = classify(_user(), ClassifyOptions(), NOW)
    assert reported.status == "compliant" and "keys_not_mfa_protected" in reported.reasons
    required = classify(_user(), ClassifyOptions(require_mfa_policy_for_keys=True), NOW)
    assert required.status == "non-compliant" and "keys_not_mfa_protected" in required.reasons
    for user in (_user(protected=True), _user(protected=None), _user(keys=0), _user(mfa=False)):
        assert "keys_not_mfa_protected" not in classify(user, ClassifyOptions(require_mfa_policy_for_keys=True), NOW).reasons
    assert classify(_user(protected=True), ClassifyOptions(require_mfa_policy_for_keys=True), NOW).status == "compliant"
