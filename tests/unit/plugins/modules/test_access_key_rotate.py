# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import configparser
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from ansible_collections.awssec.mfa.plugins.modules.access_key_rotate import main

# Without a known access key, moto's sts:GetCallerIdentity answers as IAM user "moto": the MFA session below is that user's.
USER = "moto"


def sections(path):
    ini = configparser.RawConfigParser()
    ini.read(path)
    return {s: dict(ini[s]) for s in ini.sections()}


def key_states(iam, user):
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


@pytest.fixture
def workstation(moto_account):
    """[dev-long-term] holds the user's only key, [dev] a valid MFA session of the same user."""
    credentials, dummy = moto_account
    iam = boto3.client("iam")
    iam.create_user(UserName=USER)
    old = iam.create_access_key(UserName=USER)["AccessKey"]
    expiration = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    credentials.write_text(f"[dev-long-term]\naws_access_key_id = {old['AccessKeyId']}\naws_secret_access_key = {old['SecretAccessKey']}\n\n"
                           "[dev]\naws_access_key_id = ASIASESSION000000001\naws_secret_access_key = session-secret\n"
                           f"aws_session_token = token\nexpiration = {expiration}\n")
    return iam, credentials, old["AccessKeyId"]


def test_workstation_rotation_stores_the_new_key_and_deactivates_the_old(run_module, workstation):
    iam, credentials, old_id = workstation
    result = run_module(main, dict(workstation_profile="dev", force=True))
    assert result["rc"] == 0 and result["changed"] is True, result.get("msg")
    stored = sections(credentials)["dev-long-term"]["aws_access_key_id"]
    assert stored != old_id
    assert key_states(iam, USER) == {old_id: "Inactive", stored: "Active"}
    # The old key is backed up next to the credentials file, for as long as it is only deactivated.
    backed_up = sections(f"{credentials}.deactivated")
    assert [s["aws_access_key_id"] for s in backed_up.values()] == [old_id]


def test_profile_does_not_name_the_workstation_profile(run_module, workstation):
    """The alias of an option never released is gone: profile is the AWS connection's (module_defaults may set it)."""
    iam, credentials, old_id = workstation
    before = credentials.read_text()
    result = run_module(main, dict(profile="dev", force=True))
    assert result["failed"] and "name the workstation profile (workstation_profile)" in result["msg"]
    assert credentials.read_text() == before and key_states(iam, USER) == {old_id: "Active"}


def test_admin_mode_refuses_to_run_without_no_log(run_module, workstation):
    iam, dummy, old_id = workstation
    result = run_module(main, dict(user_name=USER, force=True))
    assert result["rc"] == 1
    assert result["msg"] == "admin mode returns the new secret key: set no_log: true on the task. Nothing was changed."
    assert key_states(iam, USER) == {old_id: "Active"}


def test_admin_mode_with_no_log_rotates_the_users_key(run_module, workstation):
    iam, dummy, old_id = workstation
    result = run_module(main, dict(user_name=USER, force=True, old_key="delete"), no_log=True)
    assert result["rc"] == 0 and result["changed"] is True, result.get("msg")
    [new_id] = key_states(iam, USER)
    assert new_id != old_id and key_states(iam, USER) == {new_id: "Active"}


def test_neither_profile_nor_user_fails_clearly(run_module, aws_env):
    result = run_module(main, dict())
    assert result["rc"] == 1
    assert result["msg"] == ("name the workstation profile (workstation_profile) or, in admin mode, the IAM user (user_name); profile is "
                             "the AWS connection's, not the workstation profile to rotate")
