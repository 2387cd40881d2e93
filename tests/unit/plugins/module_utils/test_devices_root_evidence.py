# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Device kinds (phishing-resistant MFA), the root user as CIS and centralized root access see it, and console sign-in
evidence from CloudTrail."""

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ansible_collections.awssec.mfa.plugins.module_utils import cloudtrail as cloudtrail_mod
from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions, check_options, classify
from ansible_collections.awssec.mfa.plugins.module_utils.facts import build_facts
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter
from ansible_collections.awssec.mfa.plugins.module_utils.cloudtrail import sign_ins_without_mfa
from ansible_collections.awssec.mfa.plugins.module_utils.gather import gather
from ansible_collections.awssec.mfa.plugins.module_utils.org import aggregate
from ansible_collections.awssec.mfa.plugins.module_utils.records import (
    AccessKey,
    Gathered,
    MFADevice,
    RootRecord,
    SignIns,
    UserRecord,
    mfa_device_type,
    root_reasons,
)
from ansible_collections.awssec.mfa.plugins.module_utils.report import render_csv, render_table, recommendations
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import render_html, render_markdown
from ansible_collections.awssec.mfa.plugins.module_utils.root import credentials_management, root_mfa_type, virtual_serials_by_user
from tests.support.aws_like import console_login, outside_any_organization
from tests.support.demo_account import console_users_with_devices

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
U2F = "arn:aws:iam::123456789012:u2f/user/ana/yubikey-AB12CD34"


@pytest.mark.parametrize("serial, kind", [
    ("arn:aws:iam::123456789012:mfa/ana", "virtual"),
    ("arn:aws-us-gov:iam::123456789012:mfa/path/ana", "virtual"),
    (U2F, "security_key"),
    ("arn:aws-cn:iam::123456789012:u2f/user/ana/passkey-1", "security_key"),
    ("GAHT12345678", "hardware"),
    ("arn:aws:iam::123456789012:sms-mfa/ana", "unknown"),
])
def test_the_kind_of_a_device_comes_from_its_serial(serial, kind):
    assert mfa_device_type(serial) == kind


def _user(kinds, console=True):
    return UserRecord(username="ana", arn="arn:aws:iam::123456789012:user/ana", created=NOW - timedelta(days=100), console_access=console,
                      password_last_used=NOW - timedelta(days=1) if console else None, mfa_devices=[MFADevice(None, kind) for kind in kinds], access_keys=[])


@pytest.mark.parametrize("kinds, reason, status", [
    (["security_key"], False, "compliant"),
    (["security_key", "security_key"], False, "compliant"),
    (["virtual"], True, "non-compliant"),
    (["hardware"], True, "non-compliant"),
    (["security_key", "virtual"], True, "non-compliant"),  # the virtual device can still be phished
    (["unknown"], True, "non-compliant"),
    ([], False, "non-compliant"),  # no MFA at all: console_without_mfa says it
])
def test_phishing_resistant_mfa_means_every_device_is_a_security_key(kinds, reason, status):
    verdict = classify(_user(kinds), ClassifyOptions(require_phishing_resistant_mfa=True), NOW)
    assert ("not_phishing_resistant" in verdict.reasons) is reason and verdict.status == status
    off = classify(_user(kinds), ClassifyOptions(), NOW)
    assert "not_phishing_resistant" not in off.reasons


def test_a_user_without_console_or_keys_stays_compliant_with_a_virtual_device():
    verdict = classify(_user(["virtual"], console=False), ClassifyOptions(require_phishing_resistant_mfa=True), NOW)
    assert verdict.status == "compliant" and verdict.reasons == ["not_phishing_resistant"]


def test_sign_ins_without_mfa_add_a_reason_and_leave_the_status():
    user = _user(["virtual"])
    user.sign_ins = SignIns(without_mfa=2, last_without_mfa=NOW - timedelta(days=3))
    verdict = classify(user, ClassifyOptions(evidence_days=30), NOW)
    assert verdict.reasons == ["signed_in_without_mfa"] and verdict.status == "compliant"
    user.sign_ins = SignIns()
    assert classify(user, ClassifyOptions(evidence_days=30), NOW).reasons == []


@pytest.mark.parametrize("days, problem", [(-1, True), (0, False), (90, False), (91, True)])
def test_evidence_days_is_within_cloudtrails_event_history(days, problem):
    problems = check_options(ClassifyOptions(evidence_days=days))
    assert bool(problems) is problem
    if problem:
        assert problems == [f"evidence_days must be from 0 to 90 (CloudTrail's event history), not {days}"]


# --- the root user ------------------------------------------------------------------------------------------------------

ROOT_DEVICE = {"SerialNumber": "arn:aws:iam::123456789012:mfa/root-account-mfa-device",
               "User": {"UserName": "", "UserId": "123456789012", "Arn": "arn:aws:iam::123456789012:root", "Path": "/"}}
ANA_DEVICE = {"SerialNumber": "arn:aws:iam::123456789012:mfa/ana",
              "User": {"UserName": "ana", "UserId": "AIDA1", "Arn": "arn:aws:iam::123456789012:user/ana", "Path": "/"}}


def test_the_roots_virtual_device_is_the_roots_not_a_users():
    assert virtual_serials_by_user([ROOT_DEVICE, ANA_DEVICE]) == {"ana": [ANA_DEVICE["SerialNumber"]]}
    assert virtual_serials_by_user(None) is None


@pytest.mark.parametrize("enabled, devices, kind", [
    (True, [ROOT_DEVICE, ANA_DEVICE], "virtual"),
    (True, [ANA_DEVICE], "hardware"),
    (False, [ANA_DEVICE], "none"),
    (True, None, None),  # ListVirtualMFADevices denied: cannot tell
    (False, None, "none"),
])
def test_root_mfa_type(enabled, devices, kind):
    assert root_mfa_type(enabled, devices) == kind


@pytest.mark.parametrize("root, reasons", [
    (RootRecord(True, False, "hardware"), []),
    (RootRecord(True, False, "virtual"), ["root_virtual_mfa_only"]),
    (RootRecord(False, True, "none"), ["root_without_mfa", "root_access_keys"]),
    (RootRecord(True, True, None), ["root_access_keys"]),
])
def test_root_reasons(root, reasons):
    assert root_reasons(root) == reasons


@pytest.mark.parametrize("answer, expected", [
    ({"EnabledFeatures": ["RootCredentialsManagement", "RootSessions"], "OrganizationId": "o-1"}, ("enabled", False)),
    ({"EnabledFeatures": ["RootSessions"], "OrganizationId": "o-1"}, ("disabled", False)),
    ("OrganizationNotFoundException", ("not_in_organization", None)),
    ("ServiceAccessNotEnabledException", ("disabled", None)),
    ("AccountNotManagementOrDelegatedAdministratorException", ("unknown", True)),  # a member: the Organization's answer is its
    ("AccessDenied", ("unknown", None)),
])
def test_centralized_root_access(answer, expected):
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    warnings = []
    with Stubber(iam) as stub:
        if isinstance(answer, dict):
            stub.add_response("list_organizations_features", answer)
        else:
            stub.add_client_error("list_organizations_features", service_error_code=answer, service_message="no")
        assert credentials_management(iam, warnings) == expected
    # A member account cannot read it (expected); being denied is worth a warning.
    assert bool(warnings) is (answer == "AccessDenied")


# --- devices, root and evidence, gathered from moto -------------------------------------------------------------------


@pytest.fixture
def aws():
    with mock_aws():
        kw = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        iam = outside_any_organization(boto3.client("iam", **kw))
        console_users_with_devices(iam, {"ana": U2F, "ben": "GAHT00000001", "cy": None, "dee": "virtual"})
        yield iam, boto3.client("sts", **kw)


def _kinds(gathered):
    return {u.username: [d.type for d in u.mfa_devices] for u in gathered.users}


def test_the_report_reads_the_devices_of_the_users_whose_mfa_is_not_virtual(aws):
    """The report says only that MFA is on; without a virtual device assigned now, ListMFADevices says what it is (or that
    it is gone): always, not only when security keys are required."""
    iam, sts = aws
    plain = gather(iam, sts, "credential_report", ClassifyOptions(grace_period_days=0), sleep=lambda s: None)
    assert _kinds(plain) == {"ana": ["security_key"], "ben": ["hardware"], "cy": [], "dee": ["virtual"]} and plain.device_reads == 2

    counter = CallCounter()
    counter.watch(iam)
    # A report as old as moto's would have the users it calls non-compliant read live: make it fresh enough.
    strict = ClassifyOptions(grace_period_days=0, require_phishing_resistant_mfa=True, max_report_age=10 ** 10)
    told = gather(iam, sts, "credential_report", strict, sleep=lambda s: None)
    assert _kinds(told) == {"ana": ["security_key"], "ben": ["hardware"], "cy": [], "dee": ["virtual"]}
    assert told.device_reads == 2  # ana and ben: cy has no MFA, dee's is virtual
    facts = build_facts(told, strict, datetime.now(timezone.utc), counter.count)
    status = {u["username"]: (u["status"], u["reasons"]) for u in facts["users"]}
    assert status["ana"] == ("compliant", [])
    assert status["ben"] == ("non-compliant", ["not_phishing_resistant"])
    assert status["dee"] == ("non-compliant", ["not_phishing_resistant"])
    assert facts["mfa_device_reads"] == 2


def test_live_reads_tell_the_kinds_with_no_extra_call(aws):
    iam, sts = aws
    live = gather(iam, sts, "live", ClassifyOptions(require_phishing_resistant_mfa=True))
    assert _kinds(live) == {"ana": ["security_key"], "ben": ["hardware"], "cy": [], "dee": ["virtual"]} and live.device_reads == 0


def test_evidence_needs_a_cloudtrail_client(aws):
    iam, sts = aws
    with pytest.raises(ValueError, match="evidence_days needs a CloudTrail client"):
        gather(iam, sts, "live", ClassifyOptions(evidence_days=7))


# --- console sign-ins from CloudTrail ------------------------------------------------------------------------------------

def _event(user, mfa, days_ago, success=True, now=NOW):
    return console_login({"user": user, "mfa": mfa, "time": (now - timedelta(days=days_ago)).isoformat(), "success": success})


def test_sign_ins_without_mfa_count_successful_sign_ins_of_users_and_root():
    federated = _event("ana", False, 1)
    federated["CloudTrailEvent"] = federated["CloudTrailEvent"].replace('"type": "IAMUser"', '"type": "AssumedRole"')
    events = [
        _event("ana", False, 1), _event("ana", False, 9), _event("ana", True, 0),
        _event("ben", False, 2, success=False),  # a failed sign-in is no sign-in
        _event("cy", True, 3),
        _event(None, False, 5),  # the root user
        federated,  # MFA is the identity provider's
        {"EventTime": NOW, "CloudTrailEvent": "not json"},
    ]
    by_user, root = sign_ins_without_mfa(events)
    assert by_user == {"ana": SignIns(2, NOW - timedelta(days=1))}
    assert root == SignIns(1, NOW - timedelta(days=5))


class _Trail:
    """A CloudTrail client that serves ``events`` in pages of ``size`` and records when each request came."""

    class meta:  # noqa: N801 (botocore's attribute name)
        region_name = "us-east-1"

    def __init__(self, events, size, clock):
        self.events, self.size, self.clock, self.requests = events, size, clock, []

    def lookup_events(self, **kwargs):
        self.requests.append((self.clock(), kwargs))
        start = int(kwargs.get("NextToken", 0))
        page = {"Events": self.events[start:start + self.size]}
        if start + self.size < len(self.events):
            page["NextToken"] = str(start + self.size)
        return page


def test_lookups_are_paged_and_paced_at_two_a_second():
    now = [0.0]
    trail = _Trail([_event("ana", False, d) for d in range(7)], 3, lambda: now[0])

    def sleep(seconds):
        now[0] += seconds

    events, pages = cloudtrail_mod._console_logins(trail, NOW - timedelta(days=30), NOW, sleep, clock=lambda: now[0])
    assert len(events) == 7 and pages == 3
    times = [when for when, dummy in trail.requests]
    assert [b - a for a, b in zip(times, times[1:])] == [0.5, 0.5]
    assert [r.get("NextToken") for dummy, r in trail.requests] == [None, "3", "6"]
    first = trail.requests[0][1]
    assert first["LookupAttributes"] == [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}]
    assert first["StartTime"] == NOW - timedelta(days=30) and first["EndTime"] == NOW and first["MaxResults"] == 50


def test_evidence_reaches_the_facts_and_every_report(aws):
    iam, sts = aws
    now = datetime.now(timezone.utc).replace(microsecond=0)  # the users were made just now
    trail = _Trail([_event(*login, now=now) for login in (("ben", False, 4), ("ben", False, 6), ("dee", True, 1), (None, False, 2))], 50, lambda: 0.0)
    options = ClassifyOptions(grace_period_days=0, evidence_days=30, max_report_age=10 ** 10)
    facts = build_facts(gather(iam, sts, "credential_report", options, sleep=lambda s: None, now=now, cloudtrail=trail), options, now, 9)
    by_name = {u["username"]: u for u in facts["users"]}
    assert by_name["ben"]["sign_ins_without_mfa"] == {"count": 2, "last": (now - timedelta(days=4)).isoformat()}
    assert "signed_in_without_mfa" in by_name["ben"]["reasons"]
    assert by_name["dee"]["sign_ins_without_mfa"] == {"count": 0, "last": None} and "signed_in_without_mfa" not in by_name["dee"]["reasons"]
    assert facts["root"]["sign_ins_without_mfa"] == {"count": 1, "last": (now - timedelta(days=2)).isoformat()}
    assert facts["evidence"] == {"days": 30, "region": "us-east-1", "events": 4, "calls": 1}
    assert facts["root"]["credentials_management"] == "not_in_organization"

    table = render_table(facts)
    assert "Sign-in evidence: CloudTrail, the last 30 days in us-east-1 (4 ConsoleLogin events)" in table
    assert "  • signed_in_without_mfa (1: 1 compliant): ben" in table  # ben has MFA now, and did sign in without it
    assert "Ask why 1 user signed in to the console without MFA in the last 30 days" in " ".join(recommendations(facts))
    csv_rows = render_csv(facts).splitlines()
    assert csv_rows[0].endswith(",keys_mfa_protected,sign_ins_without_mfa,last_sign_in_without_mfa,root_credentials,root_password_last_used,"
                                "root_reasons,access_keys")
    ben = next(row for row in csv_rows if row.startswith("ben,"))
    assert f",2,{(now - timedelta(days=4)).isoformat()}," in ben
    assert "Sign-in evidence: CloudTrail" in render_markdown(facts) and "Sign-in evidence: CloudTrail" in render_html(facts)


def _root_facts(name, root):
    facts = build_facts(
        Gathered(name, "live", None, [UserRecord("u", "arn:aws:iam::1:user/u", NOW, access_keys=[AccessKey("Inactive", NOW)])],
                 root), ClassifyOptions(), NOW, 1)
    return {"account_id": name, "account_name": name, "facts": facts}


def test_root_findings_in_every_report_and_per_account_in_an_organization():
    one = _root_facts("111111111111", RootRecord(True, False, "virtual", NOW - timedelta(days=40), "enabled"))
    table = render_table(one["facts"])
    assert ("  • Credentials: unknown   MFA: enabled (virtual)   Access keys: none   Password last used: 2026-10-21 12:00 UTC   "
            "Centralized root access: enabled   Findings: root_virtual_mfa_only") in table
    assert "Give the root user a hardware MFA device or a security key instead of a virtual one (CIS 1.6)" in recommendations(one["facts"])
    markdown = render_markdown(one["facts"])
    assert ("| Account | Root credentials | Root MFA | Root access keys | Root password last used | Centralized root access | Findings |"
            in markdown)
    assert "| this account | unknown | enabled (virtual) | none | 2026-10-21 12:00 UTC | enabled | root_virtual_mfa_only |" in markdown

    org = aggregate([one, _root_facts("222222222222", RootRecord(False, True, "none", organization_member=True)),
                     _root_facts("333333333333", RootRecord(True, False, "virtual", organization_member=True))], NOW.isoformat())
    # 111111111111 could read the Organization's answer (enabled): the members take it, and 222222222222's root keys are a finding
    assert [a["root"]["credentials_management"] for a in org["accounts"]] == ["enabled"] * 3
    assert org["root"]["reasons"] == ["root_without_mfa", "root_virtual_mfa_only", "root_access_keys", "root_credentials_present"]
    advice = recommendations(org)
    assert "Enable MFA on the root user (1 account: 222222222222 (222222222222))" in advice
    assert ("Give the root user a hardware MFA device or a security key instead of a virtual one (CIS 1.6) "
            "(2 accounts: 111111111111 (111111111111), 333333333333 (333333333333))") in advice
    assert "<td>root_without_mfa, root_access_keys, root_credentials_present</td>" in render_html(org).replace(' class="failed"', "")


def test_an_organizations_findings_say_how_many_accounts():
    def account(name, users):
        records = [UserRecord(u, f"arn:aws:iam::1:user/{u}", NOW - timedelta(days=100), console_access=True) for u in users]
        gathered = Gathered(name, "live", None, records, RootRecord(True, False))
        return {"account_id": name, "account_name": name, "facts": build_facts(gathered, ClassifyOptions(), NOW, 1)}
    org = aggregate([account("a", ["x", "y"]), account("b", ["x"]), account("c", [])], NOW.isoformat())
    assert "  • console_without_mfa (3 in 2 accounts: 3 non-compliant): a/x, a/y, b/x" in render_table(org)
    new = UserRecord("new", "arn:aws:iam::1:user/new", NOW - timedelta(days=1), console_access=True)
    gathered = Gathered("d", "live", None, [new], RootRecord(True, False))
    held = {"account_id": "d", "account_name": "d", "facts": build_facts(gathered, ClassifyOptions(), NOW, 1)}
    assert "  • d/new: grace period, 6 days remaining" in render_table(aggregate([held], NOW.isoformat()))  # names repeat across accounts
