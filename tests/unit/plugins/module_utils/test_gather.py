# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from tests.support.aws_like import outside_any_organization
from ansible_collections.awssec.mfa.plugins.module_utils import gather as gather_mod
from ansible_collections.awssec.mfa.plugins.module_utils import root as root_mod
from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter, fast_timestamps
from ansible_collections.awssec.mfa.plugins.module_utils.credential_report import (
    fetch_credential_report,
    mfa_devices_from_report,
    parse_credential_report,
    record_from_report_row,
    report_waits,
)
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError
from ansible_collections.awssec.mfa.plugins.module_utils.gather import gather, with_listed_ids
from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy
from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, MFADevice

# A credential report as AWS writes it: the root row, N/A, no_information, not_supported.
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,"
    "access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
AWS_REPORT = "\n".join([
    HEADER,
    "<root_account>,arn:aws:iam::123456789012:root,2019-01-01T00:00:00+00:00,not_supported,2024-05-01T10:00:00+00:00,"
    "not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    "bob.wilson,arn:aws:iam::123456789012:user/bob.wilson,2023-02-01T09:30:00+00:00,true,no_information,"
    "2023-02-01T09:31:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    "john.doe,arn:aws:iam::123456789012:user/john.doe,2022-01-10T08:00:00+00:00,true,2024-06-01T07:00:00+00:00,"
    "2022-01-10T08:05:00+00:00,2024-07-01T00:00:00+00:00,true,true,2024-01-02T00:00:00+00:00,2024-06-10T12:00:00+00:00,"
    "us-east-1,s3,false,2023-01-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
    "svc-backup,arn:aws:iam::123456789012:user/svc-backup,2021-03-03T00:00:00+00:00,false,N/A,N/A,N/A,false,"
    "true,2021-03-03T00:00:00+00:00,N/A,N/A,N/A,true,2023-03-03T00:00:00+00:00,2024-06-14T00:00:00+00:00,eu-west-1,sts,"
    "false,N/A,false,N/A",
]) + "\n"


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_parse_credential_report_separates_root():
    rows, root = parse_credential_report(AWS_REPORT)
    assert sorted(rows) == ["bob.wilson", "john.doe", "svc-backup"]
    assert root["arn"] == "arn:aws:iam::123456789012:root"
    assert root["mfa_active"] == "true"


def test_report_row_with_no_information_and_no_keys():
    rows = parse_credential_report(AWS_REPORT)[0]
    bob = record_from_report_row(rows["bob.wilson"], [], {})
    assert bob.console_access is True
    assert bob.password_last_used is None  # no_information
    assert bob.password_created == utc(2023, 2, 1, 9, 31)
    assert bob.created == utc(2023, 2, 1, 9, 30)
    assert bob.access_keys == [] and bob.mfa_devices == []


def test_report_row_keys_active_inactive_and_last_used():
    rows = parse_credential_report(AWS_REPORT)[0]
    john = record_from_report_row(rows["john.doe"], ["arn:aws:iam::123456789012:mfa/john.doe"], {"team": "a"})
    assert [(k.status, k.created, k.last_used, k.access_key_id) for k in john.access_keys] == [
        ("Active", utc(2024, 1, 2), utc(2024, 6, 10, 12), None),
        ("Inactive", utc(2023, 1, 2), None, None),
    ]
    assert john.mfa_devices == [MFADevice("arn:aws:iam::123456789012:mfa/john.doe", "virtual")]
    assert john.password_last_used == utc(2024, 6, 1, 7)
    assert john.tags == {"team": "a"}
    assert john.last_activity == utc(2024, 6, 10, 12)


def test_report_row_without_console_uses_not_applicable_values():
    rows = parse_credential_report(AWS_REPORT)[0]
    svc = record_from_report_row(rows["svc-backup"], [], {})
    assert svc.console_access is False and svc.password_created is None and svc.password_last_used is None
    assert [k.status for k in svc.access_keys] == ["Active", "Active"]
    assert svc.last_activity == utc(2024, 6, 14)


@pytest.mark.parametrize(
    "active,virtual,expected",
    [
        (False, [], []),
        (False, None, []),
        (True, ["arn:v1"], [MFADevice("arn:v1", "virtual")]),
        (True, [], [MFADevice(None, "hardware")]),
        (True, None, [MFADevice(None, "unknown")]),
        # ListVirtualMFADevices is live, the report up to 4 hours old: a device assigned since means MFA.
        (False, ["arn:v1"], [MFADevice("arn:v1", "virtual")]),
    ],
)
def test_mfa_devices_from_report(active, virtual, expected):
    assert mfa_devices_from_report(active, virtual) == expected


def _stubbed_iam():
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    return client, Stubber(client)


def _report_response(content=AWS_REPORT):
    return {"Content": content.encode(), "ReportFormat": "text/csv", "GeneratedTime": datetime(2024, 6, 15, 11, 0)}


def test_fetch_polls_until_complete():
    iam, stub = _stubbed_iam()
    stub.add_response("generate_credential_report", {"State": "STARTED"})
    stub.add_response("generate_credential_report", {"State": "INPROGRESS"})
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_response("get_credential_report", _report_response())
    slept = []
    with stub:
        content, generated = fetch_credential_report(iam, sleep=slept.append)
    stub.assert_no_pending_responses()
    assert content == AWS_REPORT
    assert generated == utc(2024, 6, 15, 11, 0)
    assert slept == [0.1, 0.2]  # a report ready within a second costs a fraction of one, not a fixed 2 s a poll


def test_report_waits_start_short_and_back_off_to_a_deadline():
    waits = list(report_waits(first=0.1, longest=4, deadline=300))
    assert waits[:7] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 4]
    assert set(waits[7:]) == {4}
    assert 296 < sum(waits) <= 300
    assert list(report_waits(first=1, longest=1, deadline=3)) == [1, 1, 1]


def test_fetch_goes_back_to_polling_when_get_says_in_progress():
    iam, stub = _stubbed_iam()
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_client_error("get_credential_report", service_error_code="ReportInProgress", http_status_code=404)
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_response("get_credential_report", _report_response())
    slept = []
    with stub:
        content = fetch_credential_report(iam, sleep=slept.append)[0]
    stub.assert_no_pending_responses()
    assert content == AWS_REPORT and len(slept) == 1


def test_fetch_retries_limit_exceeded_with_backoff(monkeypatch):
    backoff = []
    monkeypatch.setattr("time.sleep", backoff.append)  # AWSRetry.jittered_backoff sleeps through time.sleep
    iam, stub = _stubbed_iam()
    stub.add_client_error("generate_credential_report", service_error_code="LimitExceeded", http_status_code=409)
    stub.add_client_error("generate_credential_report", service_error_code="Throttling", http_status_code=400)
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_response("get_credential_report", _report_response())
    with stub:
        content = fetch_credential_report(iam, sleep=lambda s: None)[0]
    stub.assert_no_pending_responses()
    assert content == AWS_REPORT
    assert len(backoff) == 2


def test_fetch_gives_up_with_a_clear_error():
    iam, stub = _stubbed_iam()
    for dummy in range(3):
        stub.add_response("generate_credential_report", {"State": "INPROGRESS"})
    with stub, pytest.raises(AWSError, match="not ready after 2 s of polling"):
        fetch_credential_report(iam, sleep=lambda s: None, waits=[1, 1])


def test_access_denied_names_the_call():
    iam, stub = _stubbed_iam()
    stub.add_client_error("generate_credential_report", service_error_code="AccessDenied", http_status_code=403)
    with stub, pytest.raises(AWSError) as failure:
        fetch_credential_report(iam, sleep=lambda s: None)
    assert "iam:GenerateCredentialReport" in failure.value.message


@pytest.fixture
def aws():
    with mock_aws():
        kw = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        yield outside_any_organization(boto3.client("iam", **kw)), boto3.client("sts", **kw)


def _make_users(iam):
    iam.create_user(UserName="alice", Tags=[{"Key": "mfa-exempt", "Value": "robot"}])
    iam.create_access_key(UserName="alice")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Pass-word-1!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="bob", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    iam.create_user(UserName="carol")
    iam.enable_mfa_device(UserName="carol", SerialNumber="GAHT00000001", AuthenticationCode1="123456", AuthenticationCode2="654321")
    return serial


@pytest.mark.parametrize("source", ["credential_report", "live"])
def test_gather_both_sources(aws, source):
    iam, sts = aws
    serial = _make_users(iam)
    got = gather(iam, sts, source, ClassifyOptions(), sleep=lambda s: None)
    assert got.account_id == "123456789012" and got.source == source
    by_name = {u.username: u for u in got.users}
    assert sorted(by_name) == ["alice", "bob", "carol"]
    assert by_name["alice"].tags == {"mfa-exempt": "robot"}
    assert [k.status for k in by_name["alice"].access_keys] == ["Active"]
    assert by_name["bob"].console_access and by_name["bob"].mfa_devices == [MFADevice(serial, "virtual")]
    assert [d.type for d in by_name["carol"].mfa_devices] == ["hardware"]
    assert (got.report_generated_at is None) == (source == "live")


def test_key_ids_are_read_for_the_users_with_key_findings_only_and_counted(aws):
    """The credential report has no key ids; key_ids reads them (ListAccessKeys) for users with a key finding, one call each."""
    iam, sts = aws
    _make_users(iam)  # alice: exempted, an active key without MFA (a key finding); bob and carol: no key
    iam.create_user(UserName="dave")
    two = sorted(iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"] for dummy in range(2))  # multiple_active_keys
    iam.create_user(UserName="erin")
    iam.create_login_profile(UserName="erin", Password="Pass-word-1!")  # no key: nothing to read
    alice = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"][0]["AccessKeyId"]
    listed = []
    iam.meta.events.register("before-parameter-build.iam.ListAccessKeys", lambda params, **kw: listed.append(params["UserName"]))
    first = gather(iam, sts, "credential_report", ClassifyOptions(), sleep=lambda s: None)
    without = {u.username: [k.access_key_id for k in u.access_keys] for u in first.users}
    assert without["alice"] == [None] and sorted(without["dave"]) == two  # dave was read live (the report cannot vouch for him)
    live_reads, listed[:] = sorted(listed), []
    got = gather(iam, sts, "credential_report", ClassifyOptions(key_ids=True), sleep=lambda s: None)
    by_name = {u.username: [k.access_key_id for k in u.access_keys] for u in got.users}
    assert sorted(listed) == sorted(live_reads + ["alice"])  # one more call: the one user with a key finding whose ids were unknown
    assert by_name["alice"] == [alice] and sorted(by_name["dave"]) == two and by_name["erin"] == []


def test_listed_ids_go_to_the_report_keys_created_at_the_same_second():
    created = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    keys = [AccessKey("Active", created), AccessKey("Inactive", created + timedelta(days=1)), AccessKey("Active", None)]
    listed = [{"AccessKeyId": "AKIAB", "CreateDate": created + timedelta(days=1, microseconds=500)},
              {"AccessKeyId": "AKIAA", "CreateDate": created}]
    assert [k.access_key_id for k in with_listed_ids(keys, listed)] == ["AKIAA", "AKIAB", None]
    assert [k.access_key_id for k in with_listed_ids(keys, [])] == [None, None, None]


def test_include_users_limits_what_is_read(aws):
    iam, sts = aws
    _make_users(iam)
    counter = CallCounter()
    counter.watch(iam)
    got = gather(iam, sts, "live", ClassifyOptions(include_users=("b*",)))
    assert [u.username for u in got.users] == ["bob"]
    # ListVirtualMFADevices, GetAccountAuthorizationDetails (the policies), ListUsers, GetAccountSummary, then 4 calls for bob alone.
    assert counter.count == 8


def test_users_are_read_by_name_and_only_those_include_users_selects(aws):
    iam, sts = aws
    _make_users(iam)
    called = _operations(iam)
    got = gather(iam, sts, "live", ClassifyOptions(users=("bob", "carol", "nobody"), include_users=("b*", "n*"), exclude_users=("bob",)))
    assert [u.username for u in got.users] == ["bob"]  # carol: not among include_users; nobody: no such user
    assert "ListUsers" not in called and called.count("GetUser") == 2  # bob and nobody, by name
    called = _operations(iam)
    assert gather(iam, sts, "live", ClassifyOptions(users=("carol",), include_users=("b*",))).users == []
    assert "GetUser" not in called and "ListUsers" not in called  # nobody to read: nobody listed either
    assert [u.username for u in gather(iam, sts, "credential_report", ClassifyOptions(users=("carol",))).users] == ["carol"]


def _make_protected_users(iam):
    """Users with an access key each, whose keys a policy refuses without MFA in every way one can apply (inline or
    managed, on the user or on a group), one with unrelated policies only, one with none."""
    deny = json.dumps(mfa_policy())
    s3 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    deny_arn = iam.create_policy(PolicyName="RequireMFA", PolicyDocument=deny)["Policy"]["Arn"]
    s3_arn = iam.create_policy(PolicyName="S3", PolicyDocument=s3)["Policy"]["Arn"]
    iam.create_group(GroupName="admins")
    iam.put_group_policy(GroupName="admins", PolicyName="mfa", PolicyDocument=deny)
    iam.create_group(GroupName="devs")
    iam.attach_group_policy(GroupName="devs", PolicyArn=deny_arn)
    iam.create_group(GroupName="storage")
    iam.attach_group_policy(GroupName="storage", PolicyArn=s3_arn)
    for name in ("inline", "attached", "grouped", "group-managed", "unrelated", "bare"):
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
    iam.put_user_policy(UserName="inline", PolicyName="mfa", PolicyDocument=deny)
    iam.attach_user_policy(UserName="attached", PolicyArn=deny_arn)
    iam.add_user_to_group(UserName="grouped", GroupName="storage")
    iam.add_user_to_group(UserName="grouped", GroupName="admins")
    iam.add_user_to_group(UserName="group-managed", GroupName="devs")
    iam.add_user_to_group(UserName="unrelated", GroupName="storage")
    iam.put_user_policy(UserName="unrelated", PolicyName="s3", PolicyDocument=s3)
    iam.attach_user_policy(UserName="unrelated", PolicyArn=s3_arn)


def _operations(client):
    """The names of the calls ``client`` makes from now on."""
    called = []
    client.meta.events.register("before-call", lambda model, **kwargs: called.append(model.name))
    return called


def test_users_named_outright_are_read_by_name_with_their_own_policies_and_found_as_a_full_read_finds_them(aws):
    iam, sts = aws
    _make_users(iam)
    _make_protected_users(iam)
    everyone = {u.username: u for u in gather(iam, sts, "live", ClassifyOptions()).users}
    assert {name: everyone[name].keys_mfa_protected for name in ("inline", "attached", "grouped", "group-managed", "unrelated", "bare")} == {
        "inline": True, "attached": True, "grouped": True, "group-managed": True, "unrelated": False, "bare": False}
    for names in [(name,) for name in everyone] + [("grouped", "alice", "nobody", "bare")]:
        called = _operations(iam)
        named = gather(iam, sts, "live", ClassifyOptions(include_users=names), concurrency=2)
        assert named.users == [everyone[name] for name in names if name in everyone], names
        assert "ListUsers" not in called and "GetAccountAuthorizationDetails" not in called, called
    called = _operations(iam)
    assert [u.username for u in gather(iam, sts, "live", ClassifyOptions(include_users=("bob", "c*"))).users] == ["bob", "carol"]
    assert "ListUsers" in called and "GetAccountAuthorizationDetails" in called  # a glob: the account's users are listed


def test_users_missing_from_the_report_are_read_live(aws, monkeypatch):
    iam, sts = aws
    _make_users(iam)
    only_alice = HEADER + "\n" + (
        "alice,arn:aws:iam::123456789012:user/alice,2021-03-03T00:00:00+00:00,false,N/A,N/A,N/A,false,"
        "true,2021-03-03T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    )
    monkeypatch.setattr(gather_mod, "fetch_credential_report", lambda iam, sleep: (only_alice, utc(2024, 1, 1)))
    got = gather(iam, sts, "credential_report", ClassifyOptions())
    by_name = {u.username: u for u in got.users}
    assert sorted(by_name) == ["alice", "bob", "carol"]
    assert by_name["bob"].console_access is True  # read live: the report did not have bob
    assert by_name["alice"].access_keys[0].access_key_id is None  # from the report: no key id


def test_denied_virtual_device_listing_degrades_to_unknown(aws, monkeypatch):
    iam, sts = aws
    _make_users(iam)
    original = root_mod.paginate

    def deny_virtual(client, operation, result_key, **kwargs):
        if operation == "list_virtual_mfa_devices":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListVirtualMFADevices")
        return original(client, operation, result_key, **kwargs)

    monkeypatch.setattr(root_mod, "paginate", deny_virtual)
    got = gather(iam, sts, "credential_report", ClassifyOptions(), sleep=lambda s: None)
    assert {u.username: [d.type for d in u.mfa_devices] for u in got.users} == {"alice": [], "bob": ["virtual"], "carol": ["hardware"]}
    assert got.warnings == ["iam:ListVirtualMFADevices was denied: every user with MFA is read with iam:ListMFADevices"]
    assert got.device_reads == 2


def test_unknown_source_is_refused(aws):
    iam, sts = aws
    with pytest.raises(ValueError, match="source must be one of credential_report, live, not 'cache'"):
        gather(iam, sts, "cache", ClassifyOptions())


# --- a stale credential report (AWS serves the one it generated up to 4 hours ago) ---------------------------------------

FRESH = ClassifyOptions(grace_period_days=0)  # the users are made now: no grace period


@pytest.fixture
def stale(aws, monkeypatch):
    """A report taken when carol and dave had a password and no MFA; since then carol set up a hardware device."""
    iam, sts = aws
    iam.create_user(UserName="alice")
    for name in ("carol", "dave"):
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Pass-word-1!")
    content, dummy = fetch_credential_report(iam, sleep=lambda s: None)
    generated = datetime.now(timezone.utc)  # moto dates every report 2015-02-02
    iam.enable_mfa_device(UserName="carol", SerialNumber="GAHT00000009", AuthenticationCode1="123456", AuthenticationCode2="654321")
    monkeypatch.setattr(gather_mod, "fetch_credential_report", lambda client, sleep: (content, generated))
    counter = CallCounter()
    counter.watch(iam)
    return iam, sts, generated, counter


def _statuses(gathered, now):
    from ansible_collections.awssec.mfa.plugins.module_utils.classify import classify

    return {u.username: classify(u, FRESH, now).status for u in gathered.users}


def test_a_report_younger_than_max_report_age_is_believed(stale):
    iam, sts, generated, counter = stale
    now = generated + timedelta(hours=3)
    got = gather(iam, sts, "credential_report", FRESH, sleep=lambda s: None, now=now)
    assert _statuses(got, now) == {"alice": "compliant", "carol": "non-compliant", "dave": "non-compliant"}
    # ListVirtualMFADevices, GetAccountAuthorizationDetails, GetAccountSummary (the report is patched in); alice, compliant only
    # for want of a credential, is read live (5 calls): a password or key added since the report would make her non-compliant.
    assert counter.count == 3 + 5
    # carol's hardware device, enabled since, is not seen: she is named.
    assert any(w.startswith("the credential report was generated 10800 s ago") and w.endswith(": carol, dave") for w in got.warnings)


@pytest.mark.parametrize("max_report_age", [4 * 3600, 0])
def test_past_max_report_age_only_the_users_it_calls_non_compliant_are_read_live(stale, max_report_age):
    iam, sts, generated, counter = stale
    now = generated + timedelta(hours=5) if max_report_age else generated + timedelta(seconds=1)
    got = gather(iam, sts, "credential_report", ClassifyOptions(grace_period_days=0, max_report_age=max_report_age), sleep=lambda s: None, now=now)
    assert _statuses(got, now) == {"alice": "compliant", "carol": "compliant", "dave": "non-compliant"}
    assert [d.type for d in {u.username: u for u in got.users}["carol"].mfa_devices] == ["hardware"]
    # GetUser, GetLoginProfile, ListMFADevices, ListAccessKeys, ListUserTags for carol and dave, and for alice (compliant for
    # want of a credential) when the report is more than a minute old.
    assert counter.count == 3 + (3 if max_report_age else 2) * 5
    assert any("the 2 users it calls non-compliant or in grace were read live" in w for w in got.warnings)


def test_report_age_is_in_the_facts(stale):
    from ansible_collections.awssec.mfa.plugins.module_utils.facts import build_facts

    iam, sts, generated, dummy = stale
    now = generated + timedelta(seconds=7260)
    facts = build_facts(gather(iam, sts, "credential_report", FRESH, sleep=lambda s: None, now=now), FRESH, now, 0)
    assert facts["report_age_seconds"] == 7260 and facts["options"]["max_report_age"] == 14400


@pytest.mark.parametrize("tags, read_live", [
    ({"awssec:mfa-enforced-at": 60}, True),  # enforced a minute after the report
    # Enforced long ago, enforced again (keys re-activated by someone) after the report.
    ({"awssec:mfa-enforced-at": "2020-01-01T00:00:00+00:00", "awssec:mfa-changed-at": 60}, True),
    # Changed seconds before the report by this machine's clock, which may be behind AWS's: read live, to be sure.
    ({"awssec:mfa-enforced-at": -30, "awssec:mfa-changed-at": -30}, True),
    ({"awssec:mfa-enforced-at": -299}, True),  # an earlier version's record: the first date only
    ({"awssec:mfa-enforced-at": -3600, "awssec:mfa-changed-at": -301}, False),  # the report has it
    ({"awssec:mfa-enforced-at": "not a date"}, False),
])
def test_the_last_change_by_enforcement_decides_who_is_read_live(stale, tags, read_live):
    """Re-running a report after enforcement gets the same cached report: the users it changed are known by their tags."""
    iam, sts, generated, counter = stale
    iam.delete_login_profile(UserName="dave")  # compliant now; the report still has the password
    values = {k: v if isinstance(v, str) else (generated + timedelta(seconds=v)).isoformat() for k, v in tags.items()}
    iam.tag_user(UserName="dave", Tags=[{"Key": k, "Value": v} for k, v in values.items()])
    counter.count = 0
    now = generated + timedelta(hours=1)
    got = gather(iam, sts, "credential_report", FRESH, sleep=lambda s: None, now=now)
    assert _statuses(got, now) == {"alice": "compliant", "carol": "non-compliant", "dave": "compliant" if read_live else "non-compliant"}
    assert counter.count == 3 + 5 + (5 if read_live else 0)  # alice, compliant for want of a credential, is read live


@mock_aws
def test_fast_timestamps_read_what_botocore_reads():
    def client():  # each from a session of its own: the parser factory is the session's
        return boto3.session.Session().client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    plain, fast = client(), fast_timestamps(client())
    plain.create_user(UserName="alice")
    plain.create_group(GroupName="team")
    plain.add_user_to_group(GroupName="team", UserName="alice")
    plain.create_access_key(UserName="alice")
    for read, kwargs in (("get_account_authorization_details", {}), ("list_users", {}), ("list_access_keys", {"UserName": "alice"})):
        mine, botocores = getattr(fast, read)(**kwargs), getattr(plain, read)(**kwargs)
        mine.pop("ResponseMetadata"), botocores.pop("ResponseMetadata")
        assert mine == botocores  # the same instants
    # Read by fromisoformat (datetime's own UTC), not by dateutil (its tzutc).
    assert fast.list_users()["Users"][0]["CreateDate"].tzinfo is timezone.utc
    assert plain.list_users()["Users"][0]["CreateDate"].tzinfo is not timezone.utc
    factory = fast._endpoint._response_parser_factory
    parse = factory._defaults["timestamp_parser"]
    assert parse("2024-06-15T11:00:00.123456789Z") == datetime(2024, 6, 15, 11, 0, 0, 123456, tzinfo=timezone.utc)
    assert parse(1718449200) == datetime(2024, 6, 15, 11, 0, tzinfo=timezone.utc)  # an epoch number: botocore's parser
