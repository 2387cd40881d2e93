# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The two sources agree: for random accounts and random changes made after the credential report (which AWS serves
as it was for up to 4 hours), ``source: credential_report`` gives every user the status and reasons ``source: live``
gives, but for the named limits (docs/real-aws.md): a user it calls non-compliant or in grace, named in
``unverified_users`` and a warning, may have changed since; the reasons about keys of a user with MFA, and whether an
exempted user has a hardware device, may be as the report has them."""

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ansible_collections.awssec.mfa.plugins.module_utils import gather as gather_mod
from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions, classify
from ansible_collections.awssec.mfa.plugins.module_utils.credential_report import fetch_credential_report
from ansible_collections.awssec.mfa.plugins.module_utils.gather import REPORT_FRESH, gather
from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy
from ansible_collections.awssec.mfa.plugins.module_utils.records import mfa_device_type
from tests.support.aws_like import outside_any_organization
from tests.support.examples import examples

NAMES = ("ann", "bo", "cy")
KINDS = ("virtual", "hardware", "security_key")
OPTIONS = (
    ClassifyOptions(grace_period_days=0),
    ClassifyOptions(grace_period_days=0, require_mfa_policy_for_keys=True),
    ClassifyOptions(grace_period_days=0, require_hardware_mfa=True),
    ClassifyOptions(grace_period_days=0, require_phishing_resistant_mfa=True),
    ClassifyOptions(),  # users made now are in their grace period
)
# The reasons a stale report may miss or keep for a user with MFA, whose status they do not change (docs/real-aws.md).
KEY_REASONS = {"multiple_active_keys", "keys_not_mfa_protected", "key_older_than_max_age", "unused_credentials"}

user_state = st.fixed_dictionaries({
    "console": st.booleans(),
    "keys": st.lists(st.sampled_from(["Active", "Inactive"]), max_size=2),
    "devices": st.lists(st.sampled_from(KINDS), max_size=2, unique=True),
    "exempt": st.booleans(),
    "protected": st.booleans(),
})
change = st.tuples(
    st.sampled_from(["login_on", "login_off", "key_add", "key_off", "key_on", "key_delete", "device_add", "device_off",
                     "device_delete", "tag", "untag", "protect", "unprotect", "user_add", "user_delete"]),
    st.sampled_from(NAMES + ("dan",)),
    st.sampled_from(KINDS),
)


def _serial(iam, name, kind):
    if kind == "virtual":
        return iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-v")["VirtualMFADevice"]["SerialNumber"]
    if kind == "hardware":
        return f"GAHT{abs(hash(name)) % 10 ** 8:08d}"
    return f"arn:aws:iam::123456789012:u2f/user/{name}/key-{name}"


def _make(iam, name, state, protect_arn):
    iam.create_user(UserName=name, Tags=[{"Key": "mfa-exempt", "Value": "robot"}] if state["exempt"] else [])
    if state["console"]:
        iam.create_login_profile(UserName=name, Password="Pass-word-1!")
    for status in state["keys"]:
        key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        iam.update_access_key(UserName=name, AccessKeyId=key, Status=status)
    for kind in state["devices"]:
        iam.enable_mfa_device(UserName=name, SerialNumber=_serial(iam, name, kind), AuthenticationCode1="123456", AuthenticationCode2="654321")
    if state["protected"]:
        iam.attach_user_policy(UserName=name, PolicyArn=protect_arn)


def _delete_user(iam, name):
    for device in iam.list_mfa_devices(UserName=name)["MFADevices"]:
        iam.deactivate_mfa_device(UserName=name, SerialNumber=device["SerialNumber"])
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
    try:
        iam.delete_login_profile(UserName=name)
    except iam.exceptions.NoSuchEntityException:
        pass
    iam.delete_user(UserName=name)


def _apply(iam, what, name, kind, protect_arn):
    """One change as an administrator would make it; a change that does not apply to the account's state is skipped."""
    users = {u["UserName"] for u in iam.list_users()["Users"]}
    if what == "user_add":
        if name not in users:
            _make(iam, name, {"console": True, "keys": ["Active"], "devices": [], "exempt": False, "protected": False}, protect_arn)
        return
    if name not in users:
        return
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    devices = [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=name)["MFADevices"]]
    try:
        if what == "login_on":
            iam.create_login_profile(UserName=name, Password="Pass-word-1!")
        elif what == "login_off":
            iam.delete_login_profile(UserName=name)
        elif what == "key_add" and len(keys) < 2:
            iam.create_access_key(UserName=name)
        elif what in ("key_off", "key_on") and keys:
            iam.update_access_key(UserName=name, AccessKeyId=keys[0]["AccessKeyId"], Status="Inactive" if what == "key_off" else "Active")
        elif what == "key_delete" and keys:
            iam.delete_access_key(UserName=name, AccessKeyId=keys[-1]["AccessKeyId"])
        elif what == "device_add" and not any(mfa_device_type(s) == kind for s in devices):
            iam.enable_mfa_device(UserName=name, SerialNumber=_serial(iam, name, kind), AuthenticationCode1="123456", AuthenticationCode2="654321")
        elif what in ("device_off", "device_delete") and devices:
            iam.deactivate_mfa_device(UserName=name, SerialNumber=devices[0])
            if what == "device_delete" and devices[0].split(":")[-1].startswith("mfa/"):
                iam.delete_virtual_mfa_device(SerialNumber=devices[0])
        elif what == "tag":
            iam.tag_user(UserName=name, Tags=[{"Key": "mfa-exempt", "Value": "robot"}])
        elif what == "untag":
            iam.untag_user(UserName=name, TagKeys=["mfa-exempt"])
        elif what == "protect":
            iam.attach_user_policy(UserName=name, PolicyArn=protect_arn)
        elif what == "unprotect":
            iam.detach_user_policy(UserName=name, PolicyArn=protect_arn)
        elif what == "user_delete":
            _delete_user(iam, name)
    except (iam.exceptions.NoSuchEntityException, iam.exceptions.EntityAlreadyExistsException):
        pass


def _verdicts(gathered, options, now):
    return {u.username: (classify(u, options, now).status, classify(u, options, now).reasons, u.mfa_enabled) for u in gathered.users}


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(
    states=st.lists(user_state, min_size=1, max_size=len(NAMES)),
    changes=st.lists(change, max_size=6),
    options=st.sampled_from(OPTIONS),
    # A report younger than REPORT_FRESH is taken as made for this run (docs/real-aws.md); AWS serves one up to 4 hours.
    age=st.integers(min_value=REPORT_FRESH, max_value=4 * 3600 - 1),
)
def test_the_credential_report_gives_what_live_reads_give_after_any_change(states, changes, options, age):
    with mock_aws():
        kw = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        iam, sts = outside_any_organization(boto3.client("iam", **kw)), boto3.client("sts", **kw)
        protect_arn = iam.create_policy(PolicyName="RequireMFA", PolicyDocument=json.dumps(mfa_policy()))["Policy"]["Arn"]
        for name, state in zip(NAMES, states):
            _make(iam, name, state, protect_arn)
        content, dummy = fetch_credential_report(iam, sleep=lambda s: None)  # the report as AWS keeps it for 4 hours
        generated = datetime.now(timezone.utc)  # moto dates every report 2015-02-02
        for what, name, kind in changes:
            _apply(iam, what, name, kind, protect_arn)
        now = generated + timedelta(seconds=age)
        original = gather_mod.fetch_credential_report
        gather_mod.fetch_credential_report = lambda client, sleep: (content, generated)
        try:
            cached = gather(iam, sts, "credential_report", options, sleep=lambda s: None, now=now)
        finally:
            gather_mod.fetch_credential_report = original
        live = gather(iam, sts, "live", options, now=now)
    assert live.unverified_users == []
    got, want = _verdicts(cached, options, now), _verdicts(live, options, now)
    assert set(got) == set(want)
    for name, (status, reasons, mfa) in want.items():
        if name in cached.unverified_users:  # the named limit: a fix made since the report is not seen
            assert got[name][0] in ("non-compliant", "grace-period"), name
            assert any(w.endswith(", ".join(cached.unverified_users)) for w in cached.warnings)
            continue
        assert got[name][0] == status, (name, got[name], want[name], changes)
        if status == "exempted":  # a hardware device or security key an exempted user enabled since is not seen; nothing hangs on it
            continue
        assert got[name][2] == mfa, (name, got[name], want[name], changes)
        if not mfa:  # with MFA, reasons about keys added or removed since may differ; the status may not
            assert got[name][1] == reasons, (name, got[name], want[name], changes)
        else:
            assert set(got[name][1]) - KEY_REASONS == set(reasons) - KEY_REASONS, (name, got[name], want[name], changes)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", ["device_off", "device_delete"])
def test_a_device_removed_after_the_report_is_no_mfa(kind, how):
    """The lost device: the report still says MFA is on."""
    with mock_aws():
        kw = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        iam, sts = outside_any_organization(boto3.client("iam", **kw)), boto3.client("sts", **kw)
        _make(iam, "ann", {"console": True, "keys": ["Active"], "devices": [kind], "exempt": False, "protected": False}, None)
        content, dummy = fetch_credential_report(iam, sleep=lambda s: None)
        generated = datetime.now(timezone.utc)
        _apply(iam, how, "ann", kind, None)
        original = gather_mod.fetch_credential_report
        gather_mod.fetch_credential_report = lambda client, sleep: (content, generated)
        try:
            cached = gather(iam, sts, "credential_report", OPTIONS[0], sleep=lambda s: None, now=generated + timedelta(hours=1))
        finally:
            gather_mod.fetch_credential_report = original
    (ann,) = cached.users
    assert ann.mfa_devices == []
    verdict = classify(ann, OPTIONS[0], generated + timedelta(hours=1))
    assert verdict.status == "non-compliant" and verdict.reasons == ["console_without_mfa", "active_keys_without_mfa", "multiple_active_keys"][:2]
