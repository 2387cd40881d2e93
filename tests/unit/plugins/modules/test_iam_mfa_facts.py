# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import boto3
import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.classify import EVIDENCE_NEEDS_REGION
from ansible_collections.awssec.mfa.plugins.modules.iam_mfa_facts import main


@pytest.fixture
def account(moto_account):
    iam = boto3.client("iam")
    for name in ("bob.wilson", "jane.smith", "svc-backup"):
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Demo-password-1!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="jane.smith")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="jane.smith", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    iam.create_user(UserName="no.access")  # neither password nor key: nothing to protect


@pytest.mark.parametrize("source", ["live", "credential_report"])
def test_classifies_each_user(run_module, account, source):
    # The users were created just now: without a grace period, bob.wilson (password, no MFA) is non-compliant.
    result = run_module(main, dict(source=source, grace_period_days=0, exclude_users=["svc-*"]))
    assert result["rc"] == 0 and result["changed"] is False
    facts = result["ansible_facts"]["iam_mfa"]
    statuses = {u["username"]: u["status"] for u in facts["users"]}
    assert statuses == {"bob.wilson": "non-compliant", "jane.smith": "compliant", "svc-backup": "exempted", "no.access": "compliant"}
    assert facts["summary"]["counts"]["compliant"] == 2 and facts["summary"]["counts"]["non-compliant"] == 1


@pytest.mark.parametrize("source", ["live", "credential_report"])
def test_reads_are_retried_on_throttling(run_module, account, throttled, source):
    """Each read is throttled more often than a call without retries would survive; the module's clients retry."""
    calls = [throttled(service, operation, 2) for service, operation in (
        ("sts", "GetCallerIdentity"), ("iam", "GetAccountSummary"), ("iam", "GetLoginProfile" if source == "live" else "GetCredentialReport"))]
    result = run_module(main, dict(source=source, grace_period_days=0))
    assert result["rc"] == 0 and len(result["ansible_facts"]["iam_mfa"]["users"]) == 4
    assert [len(made) for made in calls] == [3, 3, 6 if source == "live" else 3]  # GetLoginProfile: 4 users after 2 throttled


def test_a_new_user_is_in_the_grace_period(run_module, account):
    facts = run_module(main, dict(source="live", include_users=["bob.wilson"]))["ansible_facts"]["iam_mfa"]
    assert [(u["username"], u["status"]) for u in facts["users"]] == [("bob.wilson", "grace-period")]


def test_evidence_without_region_fails_before_any_call(run_module, aws_env, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    result = run_module(main, dict(evidence_days=7))
    assert result["rc"] == 1 and result["msg"] == EVIDENCE_NEEDS_REGION
