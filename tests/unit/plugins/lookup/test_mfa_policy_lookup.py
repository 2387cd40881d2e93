# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible.errors import AnsibleLookupError

OWN_USER = "arn:aws:iam::*:user/${aws:username}"


def statements(document):
    return {s["Sid"]: s for s in document["Statement"]}


def test_default_document(lookup):
    [document] = lookup("mfa_policy").run([])
    assert document["Version"] == "2012-10-17"
    by_sid = statements(document)
    assert list(by_sid) == ["AllowViewAccountInfo", "AllowManageOwnVirtualMFADevice", "AllowManageOwnUserMFA", "AllowManageOwnPasswords",
                            "AllowManageOwnAccessKeys", "DenyAllExceptListedIfNoMFA"]
    assert by_sid["AllowViewAccountInfo"]["Action"] == ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"]
    assert by_sid["AllowManageOwnPasswords"] == {"Sid": "AllowManageOwnPasswords", "Effect": "Allow", "Action": ["iam:ChangePassword"],
                                                 "Resource": OWN_USER}
    deny = by_sid["DenyAllExceptListedIfNoMFA"]
    assert deny["Effect"] == "Deny" and deny["Resource"] == "*"
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert deny["NotAction"] == ["iam:ChangePassword", "iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetAccountPasswordPolicy",
                                 "iam:GetMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ListVirtualMFADevices", "iam:ResyncMFADevice",
                                 "sts:GetSessionToken"]


def test_options_shape_the_document(lookup):
    [document] = lookup("mfa_policy").run([], allow_without_mfa=["iam:GetAccountSummary"], allow_password_change=False,
                                          allow_access_key_self_service=False, partition="aws-us-gov")
    by_sid = statements(document)
    assert "AllowManageOwnPasswords" not in by_sid and "AllowManageOwnAccessKeys" not in by_sid
    assert by_sid["AllowViewAccountInfo"]["Action"] == ["iam:ListVirtualMFADevices"]
    assert by_sid["AllowManageOwnUserMFA"]["Resource"] == "arn:aws-us-gov:iam::*:user/${aws:username}"
    assert by_sid["AllowManageOwnVirtualMFADevice"]["Resource"] == "arn:aws-us-gov:iam::*:mfa/*"
    not_action = by_sid["DenyAllExceptListedIfNoMFA"]["NotAction"]
    assert "iam:GetAccountSummary" in not_action and "iam:ChangePassword" not in not_action


def test_options_come_from_variables_too(lookup):
    [document] = lookup("mfa_policy").run([], variables={}, partition="aws-cn")
    assert statements(document)["AllowManageOwnVirtualMFADevice"]["Resource"] == "arn:aws-cn:iam::*:mfa/*"


@pytest.mark.parametrize("options, message", [
    (dict(allow_without_mfa=["s3:*"]), "mfa_policy: allow_without_mfa: 's3:*' would allow a whole service without MFA"),
    (dict(allow_without_mfa=["GetUser"]), "mfa_policy: allow_without_mfa: 'GetUser' is not an IAM action like 'iam:GetUser'"),
    (dict(partition="mars"), "mfa_policy: partition 'mars' is not an AWS partition (aws, aws-us-gov, aws-cn, ...)"),
])
def test_a_bad_option_is_refused_with_its_reason(lookup, options, message):
    with pytest.raises(AnsibleLookupError) as error:
        lookup("mfa_policy").run([], **options)
    assert str(error.value) == message


def test_terms_are_refused(lookup):
    with pytest.raises(AnsibleLookupError, match=r"mfa_policy takes options only, not terms: \['x'\]"):
        lookup("mfa_policy").run(["x"])
