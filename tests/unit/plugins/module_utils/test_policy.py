# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json

import boto3
import pytest
from moto import mock_aws
from parliament import analyze_policy_string

from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy, policy_json

VARIANTS = [
    {},
    {"allow_password_change": False},
    {"allow_access_key_self_service": False},
    {"allow_without_mfa": ["iam:GetAccountSummary", "s3:ListAllMyBuckets"]},
]


def _findings(document):
    return [(f.issue, f.detail) for f in analyze_policy_string(json.dumps(document)).findings]


@pytest.mark.parametrize("options", VARIANTS)
def test_document_is_valid_json_without_principal_and_parliament_finds_nothing(options):
    document = json.loads(policy_json(mfa_policy(**options)))
    assert document["Version"] == "2012-10-17"
    assert all("Principal" not in s and "NotPrincipal" not in s for s in document["Statement"])
    assert _findings(document) == []


def test_parliament_is_not_blind():
    # The check above can fail: an unknown action is a finding.
    assert _findings({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:NoSuchAction", "Resource": "*"}]})


def test_deny_is_the_documented_pattern():
    deny = [s for s in mfa_policy()["Statement"] if s["Effect"] == "Deny"]
    assert len(deny) == 1
    assert deny[0]["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert deny[0]["Resource"] == "*" and "Action" not in deny[0]
    assert {"iam:EnableMFADevice", "iam:CreateVirtualMFADevice", "sts:GetSessionToken", "iam:ChangePassword"} <= set(deny[0]["NotAction"])
    # MFA devices can only be removed with MFA.
    assert "iam:DeactivateMFADevice" not in deny[0]["NotAction"]


def test_options_change_the_document():
    default = mfa_policy()
    no_password = mfa_policy(allow_password_change=False)
    assert "iam:ChangePassword" not in json.dumps(no_password)
    assert "iam:CreateAccessKey" not in json.dumps(mfa_policy(allow_access_key_self_service=False))
    extra = mfa_policy(allow_without_mfa=["iam:GetAccountSummary"])
    assert "iam:GetAccountSummary" in extra["Statement"][-1]["NotAction"]
    assert "iam:GetAccountSummary" not in json.dumps(default)


@pytest.mark.parametrize("bad", ["s3:*", "*", "GetUser", "iam:Get User", 5])
def test_bad_extra_actions_are_refused_by_name(bad):
    with pytest.raises(ValueError, match="allow_without_mfa"):
        mfa_policy(allow_without_mfa=[bad])


@mock_aws
def test_iam_accepts_the_document():
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    for number, options in enumerate(VARIANTS):
        arn = iam.create_policy(PolicyName=f"RequireMFA{number}", PolicyDocument=policy_json(mfa_policy(**options)))["Policy"]["Arn"]
        assert arn.endswith(f":policy/RequireMFA{number}")


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov", "aws-cn"])
def test_the_resources_are_in_the_accounts_partition(partition):
    resources = {s["Resource"] for s in mfa_policy(partition=partition)["Statement"]} - {"*"}
    assert resources == {f"arn:{partition}:iam::*:mfa/*", f"arn:{partition}:iam::*:user/${{aws:username}}"}


@pytest.mark.parametrize("partition", ["", "arn:aws", "aws us-gov", "AWS"])
def test_a_partition_that_is_not_one_is_refused(partition):
    with pytest.raises(ValueError, match="is not an AWS partition"):
        mfa_policy(partition=partition)


def test_the_partition_comes_from_the_callers_arn():
    from ansible_collections.awssec.mfa.plugins.module_utils.records import partition_of

    assert partition_of("arn:aws-us-gov:iam::123456789012:user/ana") == "aws-us-gov"
    assert partition_of("arn:aws-cn:sts::123456789012:assumed-role/Audit/s") == "aws-cn"
    assert partition_of("arn:aws:iam::123456789012:root") == "aws"
    for bad in ("", "aws:iam::1:user/x", "arn:AWS:iam::1:user/x"):
        with pytest.raises(ValueError, match="is not an ARN"):
            partition_of(bad)
