# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS-like test server: each behaviour is seen with it on, and is gone with it off."""

import csv
import io
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.moto_server import CREDENTIALS, MotoServer, reset_moto

KEYS = {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
ONCE = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def server():
    with MotoServer() as running:
        yield running


@pytest.fixture
def aws(server):
    reset_moto()
    server.aws_like.reset()
    server.reset_counts()
    yield server
    server.aws_like.reset()


class MovedClock:
    """The server's clock of rates and delays, moved by the test alone: no sleeping, no luck."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def move(self, seconds):
        self.now += seconds


def client(server, service, region="us-east-1", **keys):
    return boto3.client(service, endpoint_url=server.url, region_name=region, config=ONCE, **(keys or KEYS))


def test_iam_lists_come_in_pages_of_100_at_most_1000(aws):
    iam = client(aws, "iam")
    for n in range(250):
        iam.create_user(UserName=f"user{n:03d}")
    assert len(iam.list_users()["Users"]) == 250  # moto: one page
    aws.aws_like.configure(paging=True)
    first = iam.list_users()
    assert len(first["Users"]) == 100 and first["IsTruncated"] and first["Marker"]
    aws.reset_counts()
    names = [u["UserName"] for page in iam.get_paginator("list_users").paginate() for u in page["Users"]]
    assert names == [f"user{n:03d}" for n in range(250)] and aws.actions["ListUsers"] == 3
    aws.reset_counts()
    details = iam.get_paginator("get_account_authorization_details").paginate(Filter=["User"], PaginationConfig={"PageSize": 1000})
    assert len(details.build_full_result()["UserDetailList"]) == 250 and aws.actions["GetAccountAuthorizationDetails"] == 1
    with pytest.raises(ClientError, match="ValidationError"):
        iam.list_users(MaxItems=1001)


def test_the_next_pages_are_cut_from_the_first_answer_until_something_changes(aws, monkeypatch):
    iam = client(aws, "iam")
    for n in range(250):
        iam.create_user(UserName=f"user{n:03d}")
    aws.aws_like.configure(paging=True)
    asked = []
    forward = aws.aws_like._forward
    monkeypatch.setattr(aws.aws_like, "_forward", lambda environ, body: asked.append(body) or forward(environ, body))
    pages = iam.get_paginator("list_users").paginate()
    assert sum(len(page["Users"]) for page in pages) == 250 and len(asked) == 1  # moto asked once for three pages
    first = iam.list_users()
    iam.create_user(UserName="user999")  # a change between pages: the next page is cut from a new answer
    second = iam.list_users(Marker=first["Marker"])
    third = iam.list_users(Marker=second["Marker"])
    assert len(asked) == 4  # the first page, CreateUser, then the second page afresh; the third cut from the second's answer
    assert third["Users"][-1]["UserName"] == "user999" and not third["IsTruncated"]
    for n in range(5):  # lists of one page are not kept
        iam.list_access_keys(UserName=f"user{n:03d}")
    assert [key[1] for key in aws.aws_like.lists] == ["ListUsers"]


def test_organizations_accounts_come_20_a_page(aws):
    orgs = client(aws, "organizations")
    orgs.create_organization(FeatureSet="ALL")
    for n in range(124):  # more than moto's own page of 100
        orgs.create_account(AccountName=f"a{n}", Email=f"a{n}@example.com")
    aws.aws_like.configure(paging=True)
    assert len(orgs.list_accounts()["Accounts"]) == 20
    aws.reset_counts()
    accounts = orgs.get_paginator("list_accounts").paginate().build_full_result()["Accounts"]
    assert len(accounts) == 125 and aws.actions["AWSOrganizationsV20161128.ListAccounts"] == 7
    assert len({a["Id"] for a in accounts}) == 125


def _rows(response):
    return {row["user"]: row for row in csv.DictReader(io.StringIO(response["Content"].decode()))}


def test_the_report_is_generated_then_served_as_it_was_for_4_hours(aws):
    iam = client(aws, "iam")
    iam.create_user(UserName="alice")
    aws.aws_like.configure(report=True, report_polls=2)
    assert [iam.generate_credential_report()["State"] for dummy in range(3)] == ["STARTED", "INPROGRESS", "INPROGRESS"]
    with pytest.raises(ClientError, match="ReportInProgress"):
        iam.get_credential_report()
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    served = iam.get_credential_report()
    assert abs(served["GeneratedTime"].timestamp() - time.time()) < 5
    assert sorted(_rows(served)) == ["<root_account>", "alice"]
    assert _rows(served)["<root_account>"]["arn"] == "arn:aws:iam::123456789012:root"
    iam.create_user(UserName="bob")
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    assert sorted(_rows(iam.get_credential_report())) == ["<root_account>", "alice"]  # bob is not in it yet
    aws.aws_like.advance(4 * 3600 + 1)
    with pytest.raises(ClientError, match="ReportExpired"):
        iam.get_credential_report()
    while iam.generate_credential_report()["State"] != "COMPLETE":
        pass
    assert sorted(_rows(iam.get_credential_report())) == ["<root_account>", "alice", "bob"]
    aws.aws_like.configure(report=False)
    assert "<root_account>" not in _rows(iam.get_credential_report())  # moto's own: no root row, dated 2015
    assert iam.get_credential_report()["GeneratedTime"].year == 2015


@pytest.mark.parametrize("region, partition", [("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn")])
def test_the_report_is_in_the_signing_regions_partition(aws, region, partition):
    iam = client(aws, "iam", region)
    iam.create_user(UserName="alice")
    aws.aws_like.configure(report=True, report_polls=0)
    while iam.generate_credential_report()["State"] != "COMPLETE":
        pass
    rows = _rows(iam.get_credential_report())
    assert rows["<root_account>"]["arn"] == f"arn:{partition}:iam::123456789012:root"
    assert rows["alice"]["arn"] == f"arn:{partition}:iam::123456789012:user/alice"


def test_throttling_past_the_rate_and_limit_exceeded_for_the_report(aws):
    iam = client(aws, "iam")
    iam.create_user(UserName="alice")
    for dummy in range(5):
        iam.get_user(UserName="alice")  # off: never throttled
    aws.aws_like.clock = MovedClock()  # still: the bucket never refills
    aws.aws_like.configure(throttle=(0.01, 2))
    iam.get_user(UserName="alice")
    iam.get_user(UserName="alice")
    with pytest.raises(ClientError, match="Throttling"):
        iam.get_user(UserName="alice")
    iam.list_users()  # a bucket per action
    assert aws.aws_like.answered["Throttling"] == 1
    aws.aws_like.reset(report=True, report_limit=(0.01, 1))
    iam.generate_credential_report()
    with pytest.raises(ClientError, match="LimitExceeded"):
        iam.generate_credential_report()


def test_a_new_key_is_refused_for_a_while(aws):
    iam = client(aws, "iam")
    iam.create_user(UserName="alice")
    clock = aws.aws_like.clock = MovedClock()
    aws.aws_like.configure(new_key_delay=0.5)
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    sts = client(aws, "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    clock.move(0.49)
    with pytest.raises(ClientError, match="InvalidClientTokenId"):
        sts.get_caller_identity()
    clock.move(0.01)
    assert sts.get_caller_identity()["Arn"].endswith(":user/alice")
    aws.aws_like.configure(new_key_delay=0)
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    sts = client(aws, "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"].endswith(":user/alice")  # off: usable at once


def test_the_root_user_is_seen_as_described(aws):
    iam = client(aws, "iam")
    moto_summary = iam.get_account_summary()["SummaryMap"]
    assert moto_summary["AccountMFAEnabled"] == 0 and iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"] == []
    aws.aws_like.configure(report=True, report_polls=0, root={"mfa": "virtual", "access_keys": True, "password_last_used": "2026-11-01T08:00:00+00:00"})
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["AccountMFAEnabled"] == 1 and summary["AccountAccessKeysPresent"] == 1
    assert summary["Users"] == moto_summary["Users"]  # the rest is moto's
    devices = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert [(d["SerialNumber"], d["User"]["Arn"]) for d in devices] == [
        ("arn:aws:iam::123456789012:mfa/root-account-mfa-device", "arn:aws:iam::123456789012:root")]
    while iam.generate_credential_report()["State"] != "COMPLETE":
        pass
    root = next(csv.DictReader(io.StringIO(iam.get_credential_report()["Content"].decode())))
    assert (root["user"], root["mfa_active"], root["password_last_used"], root["access_key_1_active"]) == (
        "<root_account>", "true", "2026-11-01T08:00:00+00:00", "true")
    aws.aws_like.reset(root={"mfa": "none"})
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0


def test_organizations_features_are_answered_as_configured(aws):
    iam = client(aws, "iam")
    with pytest.raises(ClientError, match="OrganizationNotFoundException"):
        iam.list_organizations_features()
    aws.aws_like.configure(organizations_features=("RootCredentialsManagement", "RootSessions"))
    assert iam.list_organizations_features()["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]
    aws.aws_like.configure(organizations_features_error="AccountNotManagementOrDelegatedAdministratorException")
    with pytest.raises(ClientError, match="AccountNotManagementOrDelegatedAdministratorException"):
        iam.list_organizations_features()


def test_console_logins_are_looked_up_newest_first_50_a_page_2_a_second(aws):
    clock = aws.aws_like.clock = MovedClock()
    now = time.time()
    logins = tuple({"user": f"u{n}", "mfa": n % 2 == 0, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600 * n))}
                   for n in range(120))
    aws.aws_like.configure(console_logins=logins)
    trail = client(aws, "cloudtrail")
    ask = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}],
           "StartTime": now - 3600 * 99.5, "EndTime": now + 1}
    seen, token = [], None
    while True:
        page = trail.lookup_events(**ask, **({"NextToken": token} if token else {}))
        seen += [e["Username"] for e in page["Events"]]
        token = page.get("NextToken")
        if not token:
            break
        clock.move(0.5)
    assert seen == [f"u{n}" for n in range(100)]  # the window, newest first, in pages of 50
    assert aws.aws_like.throttled["LookupEvents"] == 0
    clock.move(1)  # the bucket full again: 2
    trail.lookup_events(**ask)
    trail.lookup_events(**ask)
    with pytest.raises(ClientError, match="ThrottlingException"):
        trail.lookup_events(**ask)  # a third in the same instant
    assert aws.aws_like.throttled["LookupEvents"] == 1
    clock.move(0.5)
    trail.lookup_events(**ask)  # one more half a second later
    with pytest.raises(ClientError, match="InvalidMaxResultsException"):
        clock.move(1)
        trail.lookup_events(**ask, MaxResults=51)
