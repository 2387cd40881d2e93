# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import fcntl
import os

import boto3
import pytest

from ansible_collections.awssec.mfa.plugins.modules.iam_mfa_enforce import main

# Users created just now are in the grace period unless it is 0 days.
NOW_NON_COMPLIANT = dict(source="live", grace_period_days=0)


@pytest.fixture
def iam(moto_account):
    iam = boto3.client("iam")
    iam.create_user(UserName="bob.wilson")
    iam.create_login_profile(UserName="bob.wilson", Password="Demo-password-1!")
    iam.create_user(UserName="alice.brown")
    key = iam.create_access_key(UserName="alice.brown")["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="jane.smith")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="jane.smith")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="jane.smith", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    iam.create_login_profile(UserName="jane.smith", Password="Demo-password-1!")
    iam.alice_key = key
    return iam


def attached(iam, user):
    return [p["PolicyName"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]]


def test_enforces_on_the_non_compliant_users_only(run_module, iam):
    result = run_module(main, NOW_NON_COMPLIANT)
    assert result["rc"] == 0 and result["changed"] is True
    assert sorted(e["username"] for e in result["actions"] if e["actions"]) == ["alice.brown", "bob.wilson"]
    assert attached(iam, "bob.wilson") == ["RequireMFA"] and attached(iam, "alice.brown") == ["RequireMFA"]
    assert attached(iam, "jane.smith") == []
    assert [k["Status"] for k in iam.list_access_keys(UserName="alice.brown")["AccessKeyMetadata"]] == ["Inactive"]
    # A second run finds nothing left to do.
    again = run_module(main, NOW_NON_COMPLIANT)
    assert again["rc"] == 0 and again["changed"] is False


def test_reads_and_changes_are_retried_on_throttling(run_module, iam, throttled):
    """The module's clients retry: each of these calls is throttled twice, which a call without retries would not survive."""
    calls = {operation: throttled(service, operation, 2) for service, operation in (
        ("sts", "GetCallerIdentity"), ("iam", "GetAccountSummary"), ("iam", "UpdateAccessKey"), ("iam", "AttachUserPolicy"))}
    result = run_module(main, NOW_NON_COMPLIANT)
    assert result["rc"] == 0 and sorted(e["username"] for e in result["actions"] if e["actions"]) == ["alice.brown", "bob.wilson"]
    assert {operation: len(made) for operation, made in calls.items()} == {
        "GetCallerIdentity": 3, "GetAccountSummary": 3, "UpdateAccessKey": 3, "AttachUserPolicy": 4}  # two users: 2 throttled, 2 answered
    assert attached(iam, "bob.wilson") == ["RequireMFA"] and attached(iam, "alice.brown") == ["RequireMFA"]


def test_check_mode_changes_nothing(run_module, iam):
    result = run_module(main, NOW_NON_COMPLIANT, check_mode=True)
    assert result["rc"] == 0 and result["changed"] is True
    assert attached(iam, "bob.wilson") == [] and attached(iam, "alice.brown") == []
    assert [k["Status"] for k in iam.list_access_keys(UserName="alice.brown")["AccessKeyMetadata"]] == ["Active"]
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_more_users_than_max_affected_fails_and_changes_nothing(run_module, iam):
    result = run_module(main, dict(NOW_NON_COMPLIANT, max_affected=1))
    assert result["rc"] == 1 and sorted(result["users"]) == ["alice.brown", "bob.wilson"]
    assert attached(iam, "bob.wilson") == [] and attached(iam, "alice.brown") == []


def test_bad_parameters_fail_before_any_call(run_module, aws_env):
    result = run_module(main, dict(policy_name="bad name", max_affected=-1))
    assert result["rc"] == 1
    assert result["msg"] == ("policy_name 'bad name' is not a valid IAM policy name (1-128 of letters, digits and +=,.@_-); "
                             "max_affected must be 0 or more, not -1")


def test_users_names_the_users_acted_on_and_leaves_exclusions_as_they_are(run_module, iam):
    result = run_module(main, dict(NOW_NON_COMPLIANT, users=["bob.wilson", "alice.brown"], exclude_users=["alice.*"]))
    assert result["rc"] == 0 and [e["username"] for e in result["actions"] if e["actions"]] == ["bob.wilson"]
    assert [e["username"] for e in result["summary"]["exempted"]] == ["alice.brown"]
    assert attached(iam, "alice.brown") == []


def test_lock_path_is_held_while_the_run_acts_and_a_link_is_refused(run_module, iam, tmp_path, monkeypatch):
    from ansible_collections.awssec.mfa.plugins.module_utils import enforce  # pylint: disable=import-outside-toplevel
    from ansible_collections.awssec.mfa.plugins.modules import iam_mfa_enforce  # pylint: disable=import-outside-toplevel

    lock = tmp_path / "guard-enforce.lock"
    held = []
    real = enforce.enforce_account

    def observed(*args, **kwargs):
        fd = os.open(lock, os.O_RDWR)
        try:  # another process (here, another descriptor) cannot take the lock while the run acts
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(False)
        except BlockingIOError:
            held.append(True)
        finally:
            os.close(fd)
        return real(*args, **kwargs)

    monkeypatch.setattr(iam_mfa_enforce, "enforce_account", observed)
    assert run_module(main, dict(NOW_NON_COMPLIANT, lock_path=str(lock)))["rc"] == 0 and held == [True]
    lock.unlink()
    lock.symlink_to(tmp_path / "elsewhere")
    refused = run_module(main, dict(NOW_NON_COMPLIANT, lock_path=str(lock)))
    assert refused["rc"] == 1 and "symbolic link: refused" in refused["msg"] and not (tmp_path / "elsewhere").exists()
