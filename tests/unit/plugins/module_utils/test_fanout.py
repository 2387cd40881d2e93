# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Many accounts from one process (module_utils/fanout.py) on an in-process moto Organization."""

import collections
import threading
from datetime import datetime, timezone

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

from ansible_collections.awssec.mfa.plugins.filter.mfa_report import mfa_org_accounts
from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter, retrying
from ansible_collections.awssec.mfa.plugins.module_utils.enforce import spec_defaults
from ansible_collections.awssec.mfa.plugins.module_utils.facts import FACTS_ARGSPEC, build_facts, check_facts_params
from ansible_collections.awssec.mfa.plugins.module_utils.fanout import (Connector, check_org_params, org_facts, read_organization, report_account,
                                                                        report_accounts)
from ansible_collections.awssec.mfa.plugins.module_utils.gather import gather
from ansible_collections.awssec.mfa.plugins.module_utils.org import account_hosts, aggregate, host_accounts
from ansible_collections.awssec.mfa.plugins.modules.iam_mfa_org_facts import ARGSPEC as ORG_ARGSPEC
from tests.support.aws_like import outside_any_organization

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": None}
CONNECTION = ("us-east-1", None, dict(KEYS, verify=None))


class MotoConnector(Connector):
    """The module's Connector, with what in-process moto lacks (iam:ListOrganizationsFeatures) answered as AWS does outside
    an Organization, and sts:AssumeRole refused for the roles in ``denied``."""

    def __init__(self, denied=()):
        super().__init__(CONNECTION)
        self.denied = denied

    def client(self, service, profile=None, keys=None):
        client = super().client(service, profile=profile, keys=keys)
        if service == "iam":
            outside_any_organization(client)
        if service == "sts":
            client.meta.events.register("before-call.sts.AssumeRole", self._deny)
        return client

    def _deny(self, params, **kwargs):  # pylint: disable=unused-argument
        role_arn = params["body"].get("RoleArn")  # the request as it would be sent (STS speaks the query protocol)
        if role_arn in self.denied:
            error = {"Code": "AccessDenied", "Message": f"not authorized to perform sts:AssumeRole on {role_arn}"}
            return AWSResponse("https://sts.amazonaws.com/", 403, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}
        return None


def client(service, credentials=None):
    keys = dict(KEYS)
    if credentials:
        keys = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"]}
    return boto3.client(service, region_name="us-east-1", **keys)


@pytest.fixture
def organization():
    """An Organization of four ACTIVE members with 1, 2, 3 and 4 console users without MFA, and a SUSPENDED one."""
    with mock_aws():
        organizations = client("organizations")
        organizations.create_organization(FeatureSet="ALL")
        members = {}
        for index in range(5):
            name = f"member-{index}"
            account_id = organizations.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
            role = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Audit", RoleSessionName="seed")["Credentials"]
            iam = client("iam", role)
            for number in range(index + 1):
                iam.create_user(UserName=f"user-{number}")
                iam.create_login_profile(UserName=f"user-{number}", Password="Passw0rd!Passw0rd!")
            members[name] = account_id
        organizations.close_account(AccountId=members.pop("member-4"))
        yield members


def organization_hosts(role_name="Audit", include_management=True):
    listed, management_id, partition, caller = read_organization(retrying(client("organizations")), retrying(client("sts")))
    return account_hosts([], listed, management_id, role_name, include_management, partition, caller)


def test_the_organization_lists_its_active_accounts_with_the_role_in_each(organization):
    hosts = organization_hosts()
    assert [(h["account_name"], h["role_arn"]) for h in hosts] == [("master", "")] + [
        (name, f"arn:aws:iam::{account_id}:role/Audit") for name, account_id in organization.items()]  # not the suspended one
    assert [h["account_name"] for h in organization_hosts(include_management=False)] == list(organization)


def test_the_inventory_hosts_give_back_the_module_accounts():
    static = [{"id": "111111111111", "name": "prod", "role_arn": "arn:aws:iam::111111111111:role/Audit"},
              {"id": "222222222222", "name": "dev", "profile": "dev-admin"}, {"id": "333333333333"}]
    hosts = account_hosts(static, [], None, "Audit", True)
    assert host_accounts(hosts) == [static[0], static[1], {"id": "333333333333", "name": "333333333333"}]
    assert account_hosts(mfa_org_accounts(hosts), [], None, "Audit", True) == hosts


def expected_calls(account_id, source, options):
    """What iam_mfa_facts sends in the account (its gather and build_facts, counted alone) but sts:GetCallerIdentity
    (sts:AssumeRole's answer says who the role is), plus the one sts:AssumeRole."""
    answer = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Audit", RoleSessionName="expect")
    counter = CallCounter()
    iam = counter.watch(outside_any_organization(client("iam", answer["Credentials"])))
    identity = {"Account": account_id, "Arn": answer["AssumedRoleUser"]["Arn"]}
    facts = build_facts(gather(iam, None, source, options, identity=identity), options, datetime.now(timezone.utc), counter.count)
    return facts["api_calls"] + 1


class WatchingConnector(MotoConnector):
    """Counts the clients it makes, per service, and records every request their calls make."""

    def __init__(self):
        super().__init__()
        self.made, self.sent = collections.Counter(), []

    def client(self, service, profile=None, keys=None):
        made = super().client(service, profile=profile, keys=keys)
        self.made[service] += 1
        made.meta.events.register("before-call", lambda model, **kwargs: self.sent.append(model.name))
        return made


@pytest.mark.parametrize("concurrency", [1, 2])
def test_roles_are_assumed_with_one_sts_client_per_thread_and_need_no_get_caller_identity(organization, concurrency):
    """Making a client costs about 10 ms of CPU: an STS client per account (and an sts:GetCallerIdentity, which
    sts:AssumeRole's answer makes needless) cost 200 accounts seconds."""
    hosts = [h for h in organization_hosts() if h["role_arn"]]
    connector = WatchingConnector()
    results = report_accounts(hosts, lambda account: report_account(account, connector, "credential_report", ClassifyOptions()), concurrency)
    assert [r["facts"]["account_id"] for r in results] == [h["account_id"] for h in hosts] == list(organization.values())
    assert connector.made["iam"] == len(hosts) and 1 <= connector.made["sts"] <= concurrency < len(hosts) and len(connector.made) == 2
    assert connector.sent.count("AssumeRole") == len(hosts) and "GetCallerIdentity" not in connector.sent
    assert sum(r["api_calls"] for r in results) == len(connector.sent)  # each thread's AssumeRole counted in its account


def test_each_account_counts_its_own_calls_and_a_failing_account_does_not_stop_the_others(organization):
    hosts = organization_hosts()
    broken = next(h for h in hosts if h["account_name"] == "member-1")
    hosts.append({"account_id": "444444444444", "account_name": "elsewhere", "role_arn": "", "aws_profile": "no-such-profile"})
    options = ClassifyOptions(grace_period_days=0)
    results = report_accounts(hosts, lambda account: report_account(account, MotoConnector({broken["role_arn"]}), "live", options), 4)
    facts = aggregate(results, "2026-11-30T00:00:00+00:00")
    rows = {row["account_name"]: row for row in facts["accounts"]}

    assert rows["member-1"]["status"] == "failed"  # (its refusal is injected before sending: not counted here)
    assert rows["member-1"]["error"] == (f"Failed to assume {broken['role_arn']} (sts:AssumeRole): AccessDenied: "
                                         f"not authorized to perform sts:AssumeRole on {broken['role_arn']}")
    assert rows["elsewhere"]["status"] == "failed" and "The config profile (no-such-profile) could not be found" in rows["elsewhere"]["error"]
    assert rows["elsewhere"]["api_calls"] == 0
    for name in ("member-0", "member-2", "member-3"):
        assert rows[name]["status"] == "ok" and rows[name]["summary"]["counts"]["non-compliant"] == int(name[-1]) + 1
        # source=live reads each user: every account sends a different number of requests, each counted in its own account.
        assert rows[name]["api_calls"] == expected_calls(organization[name], "live", options), name
        assert rows[name]["seconds"] > 0
    assert len({rows[name]["api_calls"] for name in ("member-0", "member-2", "member-3")}) == 3
    assert rows["master"]["status"] == "ok" and rows["master"]["summary"]["total"] == 0
    assert facts["api_calls"] == sum(row["api_calls"] or 0 for row in rows.values())
    assert facts["summary"]["total"] == 1 + 3 + 4 and facts["account_id"] == "6 accounts, 2 failed"
    assert "testing" not in repr(facts) and "SessionToken" not in repr(facts)


def test_no_more_accounts_than_the_concurrency_are_read_at_once():
    lock, running, most = threading.Lock(), [0], [0]
    first_three = threading.Barrier(3, timeout=10)  # broken (and the test failed) unless 3 accounts are read at once

    def report_one(account):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if int(account["account_id"]) < 3:
            first_three.wait()
        with lock:
            running[0] -= 1
        return {"account_id": account["account_id"]}

    accounts = [{"account_id": str(n)} for n in range(12)]
    assert report_accounts(accounts, report_one, 3) == accounts  # in the accounts' order
    assert most[0] == 3  # overlapped, never more than 3
    most[0], first_three = 0, threading.Barrier(1)
    report_accounts(accounts, report_one, 1)
    assert most[0] == 1
    with pytest.raises(ValueError, match="concurrency must be from 1 to 64, not 0"):
        report_accounts(accounts, report_one, 0)


def test_one_slow_account_does_not_hold_the_others():
    done, others_done = [], threading.Event()

    def report_one(account):
        if account["account_id"] == "slow":
            assert others_done.wait(timeout=10)  # the slow one ends only once the 8 others ended meanwhile
        done.append(account["account_id"])
        if len(done) == 8:
            others_done.set()
        return account

    report_accounts([{"account_id": "slow"}] + [{"account_id": str(n)} for n in range(8)], report_one, 2)
    assert done[-1] == "slow" and len(done) == 9  # the 8 others finished on the second thread meanwhile


def test_aggregate_rows_carry_calls_and_seconds_when_known():
    facts = {"users": [], "summary": {}, "api_calls": 9, "source": "credential_report", "root": {}}
    rows = aggregate([{"account_id": "1", "account_name": "a", "facts": facts, "api_calls": 10, "seconds": 1.5},
                      {"account_id": "2", "account_name": "b", "facts": facts},
                      {"account_id": "3", "account_name": "c", "error": "AccessDenied"}], "now")["accounts"]
    assert [(r["api_calls"], r["seconds"]) for r in rows] == [(10, 1.5), (9, None), (None, None)]


def test_an_organization_that_cannot_be_listed_keeps_aws_error_code_and_request_id():
    """iam_mfa_org_facts failed with the text alone (a ValueError): the error is AWS's, with its code and request id."""
    with mock_aws():  # an account outside any Organization

        def make(service):
            return retrying(client(service))
        with pytest.raises(Exception) as caught:
            org_facts({"organization": True}, make, MotoConnector)
    cause = caught.value.__cause__
    assert isinstance(cause, ClientError) and caught.value.exception is cause
    assert cause.response["Error"]["Code"] == "AWSOrganizationsNotInUseException" and cause.response["ResponseMetadata"]["RequestId"]
    assert caught.value.message == "Could not list the Organization's accounts"


@pytest.mark.parametrize("given", [{}, {"grace_period_days": -1}, {"max_report_age": -1}, {"evidence_days": 7}, {"evidence_days": 91},
                                   {"evidence_days": -1}, {"concurrency": 0}, {"concurrency": 65}, {"exempt_tag": ""}, {"users": ["a b"]},
                                   {"grace_period_days": -1, "evidence_days": 7, "concurrency": 0}])
@pytest.mark.parametrize("region", [None, "eu-west-1"])
def test_the_org_module_refuses_the_options_it_shares_with_iam_mfa_facts_as_iam_mfa_facts_does(given, region):
    """Every door gives the same answer: what iam_mfa_facts refuses, iam_mfa_org_facts refuses with the same words, and
    accepts what it accepts; iam_mfa_org_facts only adds its own."""
    facts = spec_defaults(FACTS_ARGSPEC, **given)
    assert check_org_params(spec_defaults(ORG_ARGSPEC, organization=True, **given), region) == check_facts_params(facts, region)
    assert check_org_params(spec_defaults(ORG_ARGSPEC, **given), region) == check_facts_params(facts, region) + [
        "give accounts, or organization: true, or both"]
