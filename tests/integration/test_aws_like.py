# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The scenarios where AWS is less kind than moto: throttling, pages, a cached report, new keys that take a while.

Every integration test runs with IAM pages and the AWS-like credential report (conftest.AWS_LIKE). Here the
report, enforcement, Organization inventory, session and rotation scenarios also run throttled, and rotation
with new keys refused for a while. Each test shows the behaviour was exercised: with it off, the same run
sees a difference (requests, pages, answers).
"""

import csv
import io
import json

import pytest

from tests.integration.conftest import AWS_LIKE, adhoc_result, run
from tests.integration.test_enforce_playbook import DEMO, enforce, planned
from tests.integration.workstation import CODES, age_key, task
from tests.support.demo_account import expected_counts
from tests.support.organization import management, seed_organization

# 20 requests a second per action and none in reserve: the first request of every action is throttled.
THROTTLED = (20.0, 0)


def facts(env, source):
    process = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", f"source={source}"], env)
    return adhoc_result(process.stdout)["ansible_facts"]["iam_mfa"]


@pytest.mark.parametrize("source", ["credential_report", "live"])
def test_the_report_is_exact_when_every_action_is_throttled(demo, env, aws_like, source):
    counts, by_name = expected_counts(demo.users, demo.today, exclude=())
    demo.server.reset_counts()
    plain = facts(env, source)
    plain_requests = demo.server.requests
    aws_like.reset(**AWS_LIKE, throttle=THROTTLED)
    demo.server.reset_counts()
    throttled = facts(env, source)
    for got in (plain, throttled):
        assert got["summary"]["counts"] == counts and {u["username"]: u["status"] for u in got["users"]} == by_name
    retried = aws_like.answered["Throttling"]
    assert retried >= 5 and demo.server.requests == plain_requests + retried
    assert throttled["api_calls"] == demo.server.requests  # the module counts its retries too


def test_the_credential_report_is_generated_polled_and_then_served_as_it_was(demo, env, aws_like):
    """AWS: STARTED, INPROGRESS, then COMPLETE; the same report for 4 hours, so a user made since is read live."""
    aws_like.configure(report_polls=2)
    first = facts(env, "credential_report")
    assert (aws_like.answered["STARTED"], aws_like.answered["INPROGRESS"], aws_like.answered["COMPLETE"]) == (1, 2, 1)
    assert first["report_age_seconds"] < 60
    demo.iam.create_user(UserName="zoe.new")
    demo.iam.create_login_profile(UserName="zoe.new", Password="Zoe-password-1!")
    demo.server.reset_counts()
    second = facts(env, "credential_report")
    assert second["report_generated_at"] == first["report_generated_at"] and aws_like.answered["COMPLETE"] == 2
    assert {u["username"]: u["status"] for u in second["users"]}["zoe.new"] == "grace-period"
    # zoe.new, missing from the cached report, was read live (the report, seconds old, is taken as made for this run: the
    # users it calls compliant for want of a credential are not read).
    assert demo.server.actions["GetUser"] == 1

    aws_like.advance(5 * 3600)  # the report is now too old to be served: a new one is generated
    demo.server.reset_counts()
    third = facts(env, "credential_report")
    assert third["report_generated_at"] > first["report_generated_at"] and demo.server.actions["GetUser"] == 0  # made for this run


@pytest.mark.parametrize("source, listing", [("credential_report", "GetAccountAuthorizationDetails"), ("live", "ListUsers")])
def test_the_report_follows_every_page(demo, env, aws_like, source, listing):
    """The module asks for pages of 1,000, the most IAM serves; IAM may serve fewer while there are more."""
    counts, by_name = expected_counts(demo.users, demo.today, exclude=())
    calls = {}
    for cap in (None, 10):
        aws_like.reset(**AWS_LIKE, page_cap=cap)
        demo.server.reset_counts()
        got = facts(env, source)
        assert got["summary"]["counts"] == counts and {u["username"]: u["status"] for u in got["users"]} == by_name
        calls[cap] = demo.server.actions[listing]
    assert calls == {None: 1, 10: 6}  # 57 users


def test_enforcement_when_every_action_is_throttled(demo, env, aws_like):
    aws_like.configure(throttle=THROTTLED)
    result, dummy, dummy = enforce(demo.server, env, **DEMO)
    targets = {name for name, status in expected_counts(demo.users, demo.today)[1].items() if status == "non-compliant"}
    assert set(planned(result)) == targets and all(e["result"] == "done" for e in result["actions"] if e["actions"])
    assert aws_like.answered["Throttling"] >= 8  # among them AttachUserPolicy, UpdateAccessKey, TagUser: retried


def test_the_organization_inventory_reads_every_page_when_throttled(moto_server, iam, env, aws_like, tmp_path):
    members = seed_organization(moto_server.url, 21, users_of=lambda index: 0)
    inventory = tmp_path / "org.aws_accounts.yml"
    inventory.write_text(f"plugin: awssec.mfa.aws_accounts\norganization: true\nendpoint_url: {moto_server.url}\nregion: us-east-1\n")
    listed, everyone = {}, sorted([m.name for m in members] + [management(moto_server)["Name"]])  # the management one too
    for paging, throttle in ((False, None), (True, THROTTLED)):
        aws_like.reset(paging=paging, throttle=throttle)
        moto_server.reset_counts()
        hosts = json.loads(run(["ansible-inventory", "-i", str(inventory), "--list"], env).stdout)["aws_accounts"]["hosts"]
        assert sorted(hosts) == everyone
        listed[paging] = moto_server.actions["AWSOrganizationsV20161128.ListAccounts"] - aws_like.throttled["ListAccounts"]
    assert listed == {False: 1, True: 2}  # 22 accounts (the management one too), 20 a page
    assert aws_like.throttled["DescribeOrganization"] >= 1 and aws_like.throttled["ListAccounts"] >= 1


def test_a_session_when_its_reads_are_throttled_sends_the_code_once(station, aws_like):
    aws_like.configure(throttle=THROTTLED, throttle_actions=("GetCallerIdentity", "ListAccessKeys", "GetSessionToken"))
    process = station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never", check=False)
    # GetSessionToken is never retried: its throttled answer fails the profile, and the code was sent once.
    assert station.server.actions["GetSessionToken"] == 1 and process.returncode != 0
    assert "Throttling" in process.stdout

    aws_like.reset(**AWS_LIKE, throttle=THROTTLED, throttle_actions=("GetCallerIdentity", "ListAccessKeys"))
    station.server.reset_counts()
    process = station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never")
    result = task(process, "Get the MFA sessions")["profiles"][0]
    assert result["status"] == "authenticated" and result["user"] == "moto" and result["key_age_days"] == 350
    # Each throttled read was refused and retried (how often depends on the jittered backoff), the code sent once.
    assert aws_like.throttled["GetCallerIdentity"] >= 1 and aws_like.throttled["ListAccessKeys"] >= 1
    assert station.server.actions["GetSessionToken"] == 1


def test_rotation_waits_for_the_new_key_and_retries_throttled_changes(station, aws_like):
    station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never")
    age_key(station.key, 400)
    aws_like.configure(new_key_delay=3, throttle=THROTTLED, throttle_actions=("CreateAccessKey", "UpdateAccessKey"))
    result, dummy = station.module("access_key_rotate", {"workstation_profile": "prod", "endpoint_url": station.server.url})
    assert result["rotated"] is True and [s["step"] for s in result["steps"]] == ["create", "write", "verify", "backup", "retire_old"]
    # Both changes were throttled and retried (a jittered retry can come before the bucket refills: at least once each).
    assert aws_like.answered["InvalidClientTokenId"] >= 1
    assert aws_like.throttled["CreateAccessKey"] >= 1 and aws_like.throttled["UpdateAccessKey"] >= 1
    assert station.key_works() and station.stored_key()[0] == result["new_access_key_id"]


def test_the_root_user_is_described_per_account_and_only_the_management_account_reads_the_organizations_features(moto_server, iam, aws_like):
    """As on AWS: GetAccountSummary says whether the root user has a password (moto's lacks the key), keys, certificates and
    MFA; a member is refused iam:ListOrganizationsFeatures; the credential report's root row has no password use without one."""
    from botocore.exceptions import ClientError

    from tests.support.organization import ROLE_NAME, client

    members = seed_organization(moto_server.url, 1, users_of=lambda index: 0)
    manager = management(moto_server)["Id"]
    member = members[0].account_id
    aws_like.configure(report_polls=0, organizations_features=("RootCredentialsManagement",), organizations_management=manager,
                       roots={member: {"mfa": "none", "password": False, "certificates": True}, manager: {"mfa": "virtual", "access_keys": True}})
    role = client(moto_server.url, "sts").assume_role(RoleArn=f"arn:aws:iam::{member}:role/{ROLE_NAME}", RoleSessionName="test")["Credentials"]
    member_iam = client(moto_server.url, "iam", role)
    summary = {name: member_iam.get_account_summary()["SummaryMap"][name]
               for name in ("AccountMFAEnabled", "AccountPasswordPresent", "AccountAccessKeysPresent", "AccountSigningCertificatesPresent")}
    assert summary == {"AccountMFAEnabled": 0, "AccountPasswordPresent": 0, "AccountAccessKeysPresent": 0, "AccountSigningCertificatesPresent": 1}
    assert iam.get_account_summary()["SummaryMap"]["AccountPasswordPresent"] == 1  # the management account's root has its password
    assert iam.list_organizations_features()["EnabledFeatures"] == ["RootCredentialsManagement"]
    with pytest.raises(ClientError, match="AccountNotManagementOrDelegatedAdministratorException"):
        member_iam.list_organizations_features()
    devices = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert [d["User"]["Arn"] for d in devices] == [f"arn:aws:iam::{manager}:root"]
    while member_iam.generate_credential_report()["State"] != "COMPLETE":
        pass
    rows = csv.DictReader(io.StringIO(member_iam.get_credential_report()["Content"].decode()))
    root = next(row for row in rows if row["user"] == "<root_account>")
    assert (root["arn"], root["password_last_used"], root["mfa_active"], root["cert_1_active"]) == (
        f"arn:aws:iam::{member}:root", "N/A", "false", "true")


def test_assume_role_is_refused_as_aws_refuses_it_where_moto_assumes_any_role(moto_server, iam, aws_like):
    """Trust policies with MFA and ExternalId conditions, MaxSessionDuration, the hour of role chaining, one-time codes."""
    import boto3
    from botocore.exceptions import ClientError

    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                      "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                                                                                "StringEquals": {"sts:ExternalId": "x-1"}}}]}
    role = iam.create_role(RoleName="strict", AssumeRolePolicyDocument=json.dumps(policy), MaxSessionDuration=7200)["Role"]["Arn"]
    iam.create_user(UserName="moto")
    key = iam.create_access_key(UserName="moto")["AccessKey"]
    sts = boto3.client("sts", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key=key["SecretAccessKey"])
    serial = "arn:aws:iam::123456789012:mfa/moto"

    def refusal(client, **request):
        try:
            client.assume_role(RoleArn=role, RoleSessionName="test", **request)
        except ClientError as e:
            return e.response["Error"]["Code"], e.response["Error"]["Message"]
        return None

    assert refusal(sts, ExternalId="x-1")[0] == "AccessDenied"  # no MFA
    assert refusal(sts, SerialNumber=serial, TokenCode="111111")[0] == "AccessDenied"  # no ExternalId
    assert refusal(sts, ExternalId="x-1", SerialNumber=serial, TokenCode="111111", DurationSeconds=7201) == (
        "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    assert refusal(sts, ExternalId="x-1", SerialNumber=serial, TokenCode="111111", DurationSeconds=7200) is None
    # A session got with MFA carries it, for an hour at most (role chaining); one got without it does not.
    for mfa, expected in ((True, None), (False, "AccessDenied")):
        got = sts.get_session_token(**({"SerialNumber": serial, "TokenCode": "222222"} if mfa else {}))["Credentials"]
        assert got["AccessKeyId"].startswith("ASIA") and aws_like.sessions[got["AccessKeyId"]] is mfa
        chained = boto3.client("sts", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id=got["AccessKeyId"],
                               aws_secret_access_key=got["SecretAccessKey"], aws_session_token=got["SessionToken"])
        assert (refusal(chained, ExternalId="x-1") or (None,))[0] == expected
        assert refusal(chained, ExternalId="x-1", DurationSeconds=3601) == (
            "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    assert len(aws_like.sessions) == 2  # each session its own key (moto's is always the same)
    # With one_time_codes, a code is good once per device.
    aws_like.configure(one_time_codes=True)
    assert refusal(sts, ExternalId="x-1", SerialNumber=serial, TokenCode="333333") is None
    assert refusal(sts, ExternalId="x-1", SerialNumber=serial, TokenCode="333333")[0] == "AccessDenied"
    aws_like.reset(**AWS_LIKE)
    assert refusal(sts, ExternalId="x-1", SerialNumber=serial, TokenCode="333333") is None  # off by default
