# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import boto3
import pytest

from tests.support.aws_like import outside_any_organization
from ansible_collections.awssec.mfa.plugins.module_utils.fanout import Connector
from ansible_collections.awssec.mfa.plugins.modules.iam_mfa_org_facts import main

ACCOUNT_ID = "123456789012"  # moto's


@pytest.fixture
def account(moto_account, monkeypatch):
    made = Connector.client

    def client(self, service, *args, **kwargs):  # the clients of each account read, made by the Connector
        answer = made(self, service, *args, **kwargs)
        return outside_any_organization(answer) if service == "iam" else answer

    monkeypatch.setattr(Connector, "client", client)
    iam = boto3.client("iam")
    iam.create_user(UserName="bob.wilson")
    iam.create_login_profile(UserName="bob.wilson", Password="Demo-password-1!")
    iam.create_user(UserName="svc-backup")
    iam.create_access_key(UserName="svc-backup")


def test_reads_a_static_account_with_the_run_credentials(run_module, account):
    result = run_module(main, dict(accounts=[{"id": ACCOUNT_ID, "name": "main"}], source="live", grace_period_days=0, exclude_users=["svc-*"]))
    assert result["rc"] == 0 and result["changed"] is False
    facts = result["ansible_facts"]["iam_mfa"]
    [account] = facts["accounts"]
    assert (account["account_id"], account["account_name"], account["status"]) == (ACCOUNT_ID, "main", "ok")
    # Every user carries its account.
    assert sorted((u["username"], u["status"], u["account_name"]) for u in facts["users"]) == [
        ("bob.wilson", "non-compliant", "main"), ("svc-backup", "exempted", "main")]


def test_neither_accounts_nor_organization_fails_before_any_call(run_module, aws_env):
    result = run_module(main, dict())
    assert result["rc"] == 1 and result["msg"] == "give accounts, or organization: true, or both"


def test_an_organization_that_cannot_be_listed_fails_with_aws_error_code_and_request_id(run_module, moto_account):
    """The message is as it was; the failure also carries AWS's error and request id, as fail_json_aws gives them (they were
    lost when the ClientError became a ValueError)."""
    result = run_module(main, dict(organization=True))
    assert result["rc"] == 1
    assert result["msg"] == "Could not list the Organization's accounts: AWSOrganizationsNotInUseException: Your account is not a member of an organization."
    assert result["error"]["code"] == "AWSOrganizationsNotInUseException"
    assert result["response_metadata"]["request_id"]
