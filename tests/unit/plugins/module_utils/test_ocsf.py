# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``ocsf`` report format: every record an OCSF Detection Finding that py-ocsf-models (Prowler's models) accepts, one
per user and reason and per account's root reason, with the identifiers of the Security Hub findings."""

import ast
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.class_uid import ClassUID
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.account import TypeID as AccountTypeID
from pydantic import ValidationError

from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.facts import build_facts
from ansible_collections.awssec.mfa.plugins.module_utils.findings import finding_id
from ansible_collections.awssec.mfa.plugins.module_utils.ocsf import epoch_ms, render_ocsf
from ansible_collections.awssec.mfa.plugins.module_utils.org import aggregate
from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, Gathered, MFADevice, RootRecord, UserRecord
from ansible_collections.awssec.mfa.plugins.module_utils.report import FORMATS
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import render
from tests.unit.plugins.module_utils.test_facts_and_report import NOW, SEED, _user

ROOT = Path(__file__).resolve().parents[4]
GOV = "123456789012"


def validated(record):
    """The record as py-ocsf-models' Detection Finding, strictly typed; and nothing in the record that the model does not
    know (pydantic drops unknown keys silently, so the model's dump must give the record back whole)."""
    model = DetectionFinding.model_validate_json(json.dumps(record), strict=True)
    assert model.model_dump(mode="json", exclude_unset=True) == record
    return model


def _records(facts):
    text = render_ocsf(facts)
    assert text.endswith("\n") and text == json.dumps(json.loads(text), indent=2) + "\n"
    return json.loads(text)


def _gov_user(name, age, **kwargs):
    return UserRecord(name, f"arn:aws-us-gov:iam::{GOV}:user/{name}", NOW - timedelta(days=age), **kwargs)


# Every user reason the facts can give (but signed_in_without_mfa, which needs CloudTrail evidence), an exemption with an
# end date, a grace period, compliant users without a reason or with one of low risk, and a root user with two findings.
VARIED = SEED + [
    _user("ops.admin", 500, console=True, keys=2, tags={"mfa-exempt": "break-glass account; until=2099-12-31"}),
    UserRecord("old.key", "arn:aws:iam::123456789012:user/old.key", NOW - timedelta(days=400),
               mfa_devices=[MFADevice("arn:aws:iam::123456789012:mfa/old.key", "virtual")],
               access_keys=[AccessKey("Active", NOW - timedelta(days=200), NOW - timedelta(days=100))], keys_mfa_protected=False),
    _user("no.reason.tag", 300, keys=1, tags={"mfa-exempt": ""}),
    _user("expired.tag", 300, console=True, tags={"mfa-exempt": "pilot; until=2020-01-01"}),
    _user("quiet", 300),
    UserRecord("fido.expired", "arn:aws:iam::123456789012:user/fido.expired", NOW - timedelta(days=300), console_access=True, password_last_used=NOW,
               mfa_devices=[MFADevice("arn:aws:iam::123456789012:u2f/user/fido.expired/key", "security_key")],
               tags={"mfa-exempt": "pilot; until=2020-01-01"}),
    UserRecord("fido", "arn:aws:iam::123456789012:user/fido", NOW - timedelta(days=300), console_access=True, password_last_used=NOW,
               mfa_devices=[MFADevice("arn:aws:iam::123456789012:u2f/user/fido/key", "security_key")]),
    UserRecord("fido.old.key", "arn:aws:iam::123456789012:user/fido.old.key", NOW - timedelta(days=300),
               mfa_devices=[MFADevice("arn:aws:iam::123456789012:u2f/user/fido.old.key/key", "security_key")],
               access_keys=[AccessKey("Active", NOW - timedelta(days=200), NOW - timedelta(days=1))], keys_mfa_protected=True),
]
OPTIONS = ClassifyOptions(exclude_users=("svc-*",), require_hardware_mfa=True, require_mfa_policy_for_keys=True,
                          require_phishing_resistant_mfa=True)


@pytest.fixture
def facts():
    root = RootRecord(False, True, "none", NOW - timedelta(days=3), "not_in_organization", password_present=True)
    gathered = Gathered("123456789012", "credential_report", NOW, VARIED, root, caller_arn="arn:aws:iam::123456789012:user/ops")
    return build_facts(gathered, OPTIONS, NOW, api_calls=6)


@pytest.fixture
def gov():
    """A GovCloud account: its users' and its root user's ARNs are in aws-us-gov."""
    root = RootRecord(True, False, "virtual", None, "not_in_organization")
    gathered = Gathered(GOV, "credential_report", NOW, [_gov_user("gov.dev", 100, console_access=True, password_last_used=NOW)], root,
                        caller_arn=f"arn:aws-us-gov:iam::{GOV}:user/ops")
    return build_facts(gathered, ClassifyOptions(), NOW, api_calls=6)


def _account(account_id, users, root):
    return build_facts(Gathered(account_id, "credential_report", NOW, users, root, caller_arn=f"arn:aws:iam::{account_id}:user/ops"),
                       ClassifyOptions(), NOW, api_calls=8)


@pytest.fixture
def org():
    """Two accounts read (the same user name in both), one failed."""
    prod = [UserRecord(u.username, u.arn.replace("123456789012", "111111111111"), u.created, u.console_access, None, u.password_last_used,
                       u.mfa_devices, u.access_keys) for u in SEED]
    dev = [UserRecord("bob.wilson", "arn:aws:iam::222222222222:user/bob.wilson", NOW - timedelta(days=30), console_access=True)]
    return aggregate([
        {"account_id": "111111111111", "account_name": "prod", "facts": _account("111111111111", prod, RootRecord(True, False, "hardware"))},
        {"account_id": "222222222222", "account_name": "dev", "facts": _account("222222222222", dev, RootRecord(True, True, "virtual"))},
        {"account_id": "333333333333", "account_name": "broken", "error": "AccessDenied: cannot assume the role"},
    ], "2024-01-15T12:00:00+00:00")


def _expected_uids(facts):
    """finding_id of every (account, user, reason) and (account, root reason) of the facts, as counted from the facts."""
    rows = facts.get("accounts") or [{"account_id": facts["account_id"], "status": "ok", "root": facts["root"]}]
    uids = [finding_id(u.get("account_id") or facts["account_id"], reason, u["username"]) for u in facts["users"] for reason in u["reasons"]]
    return uids + [finding_id(row["account_id"], reason) for row in rows if row["status"] == "ok" for reason in row["root"]["reasons"]]


@pytest.mark.parametrize("name", ["facts", "gov", "org"])
def test_every_record_is_a_valid_ocsf_detection_finding(name, request):
    facts = request.getfixturevalue(name)
    records = _records(facts)
    assert records
    for record in records:
        model = validated(record)
        assert model.class_uid == ClassUID.DetectionFinding == 2004 and model.class_name == "Detection Finding"
        assert model.category_uid == 2 and model.category_name == "Findings"
        assert model.type_uid == model.class_uid * 100 + model.activity_id == 200401 and model.type_name == "Detection Finding: Create"
        assert model.metadata.version == OCSF_VERSION and model.metadata.product.name == "awssec.mfa"
        assert model.severity == SeverityID(model.severity_id).name and model.status == StatusID(model.status_id).name
        assert model.time == epoch_ms(facts["generated_at"])
        assert model.cloud.provider == "AWS" and model.cloud.account.type_id == AccountTypeID.AWS_Account
        assert model.finding_info.analytic.uid == "awssec.mfa/" + model.metadata.event_code == "awssec.mfa/" + record["unmapped"]["reason"]
        assert len(model.resources) == 1 and model.resources[0].type in ("AwsIamUser", "AwsAccount")


def test_the_validation_refuses_what_ocsf_does_not_define():
    """The check above can fail: a misspelt attribute, a number given as text, a type_uid of another class."""
    good = _records(build_facts(Gathered("123456789012", "credential_report", NOW, SEED, RootRecord(True, False)), ClassifyOptions(),
                                NOW, api_calls=1))[0]
    validated(good)
    for broken in ({**good, "remediaton": good["remediation"]}, {**good, "severity_id": "4"}, {**good, "type_uid": 200301},
                   {**good, "finding_info": {**good["finding_info"], "uid": None}},
                   {**good, "cloud": {**good["cloud"], "account": {**good["cloud"]["account"], "owner": "x"}}}):
        with pytest.raises((ValidationError, AssertionError)):
            validated(broken)


@pytest.mark.parametrize("name", ["facts", "gov", "org"])
def test_one_record_per_user_and_reason_with_the_security_hub_identifiers(name, request):
    facts = request.getfixturevalue(name)
    uids = [r["finding_info"]["uid"] for r in _records(facts)]
    assert sorted(uids) == sorted(_expected_uids(facts)) and len(set(uids)) == len(uids)


def test_the_records_say_what_each_finding_is(facts):
    records = {r["finding_info"]["uid"]: r for r in _records(facts)}
    reasons = Counter(r["unmapped"]["reason"] for r in records.values())
    assert set(reasons) >= {"console_without_mfa", "active_keys_without_mfa", "key_older_than_max_age", "unused_credentials", "multiple_active_keys",
                            "virtual_mfa_only", "keys_not_mfa_protected", "not_phishing_resistant", "exemption_without_reason",
                            "exemption_expired", "root_without_mfa", "root_access_keys"}
    bob = records[finding_id("123456789012", "console_without_mfa", "bob.wilson")]
    assert (bob["severity_id"], bob["severity"], bob["status_id"], bob["status"]) == (4, "High", 1, "New")
    assert bob["resources"] == [{"type": "AwsIamUser", "uid": "arn:aws:iam::123456789012:user/bob.wilson", "name": "bob.wilson",
                                 "cloud_partition": "aws"}]
    assert bob["cloud"]["account"] == {"uid": "123456789012", "name": "123456789012", "type_id": 10, "type": "AWS Account"}
    assert bob["finding_info"]["title"] == "IAM user with console access has no MFA device"
    assert "User bob.wilson of account 123456789012: non-compliant, high risk." in bob["finding_info"]["desc"]
    assert bob["remediation"]["desc"].startswith("Set up an MFA device for the user, or remove the console password")
    assert bob["unmapped"] == {"reason": "console_without_mfa", "user_status": "non-compliant", "risk": "high", "note": None}
    assert bob["time"] == int(datetime.fromisoformat(facts["generated_at"]).timestamp() * 1000)

    grace = records[finding_id("123456789012", "console_without_mfa", "new.user")]
    assert (grace["severity"], grace["status"]) == ("Medium", "New")
    assert grace["unmapped"]["note"] == "In the grace period: 5 days left to set up MFA"

    exempted = [r for r in records.values() if r["unmapped"]["user_status"] == "exempted"]
    assert {r["resources"][0]["name"] for r in exempted} == {"svc-backup", "ops.admin", "no.reason.tag"}
    assert all(r["status_id"] == 3 and r["status"] == "Suppressed" for r in exempted)
    ops = records[finding_id("123456789012", "console_without_mfa", "ops.admin")]
    assert ops["unmapped"]["note"] == "Exempted until 2099-12-31: break-glass account"
    assert records[finding_id("123456789012", "exemption_expired", "expired.tag")]["status"] == "New"
    low = records[finding_id("123456789012", "exemption_expired", "fido.expired")]
    assert (low["severity_id"], low["severity"], low["unmapped"]["user_status"], low["unmapped"]["risk"]) == (2, "Low", "compliant", "low")
    assert {r["severity"] for r in records.values()} == {"Critical", "High", "Medium", "Low"}

    for reason, severity_id in (("root_without_mfa", 5), ("root_access_keys", 5)):
        root = records[finding_id("123456789012", reason)]
        assert root["severity_id"] == severity_id and root["severity"] == "Critical" and root["status"] == "New"
        assert root["resources"] == [{"type": "AwsAccount", "uid": "arn:aws:iam::123456789012:root", "name": "root", "cloud_partition": "aws"}]
        assert root["unmapped"] == {"reason": reason, "user_status": None, "risk": None, "note": None}


def test_a_user_without_reasons_yields_no_record(facts):
    without = {u["username"] for u in facts["users"] if not u["reasons"]}
    assert without == {"quiet", "fido"}
    assert not without & {r["resources"][0]["name"] for r in _records(facts)}
    clean = dict(facts, users=[u for u in facts["users"] if u["username"] in without], root=dict(facts["root"], reasons=[]))
    assert render_ocsf(clean) == "[]\n"


def test_govcloud_records_keep_their_partition(gov):
    records = _records(gov)
    assert [(r["unmapped"]["reason"], r["resources"][0]["uid"], r["resources"][0]["cloud_partition"]) for r in records] == [
        ("console_without_mfa", f"arn:aws-us-gov:iam::{GOV}:user/gov.dev", "aws-us-gov"),
        ("root_virtual_mfa_only", f"arn:aws-us-gov:iam::{GOV}:root", "aws-us-gov"),
    ]
    assert records[1]["severity"] == "Medium"
    alone = _records(dict(gov, users=[]))  # no user ARN to read it from: the facts' partition (the caller's)
    assert [(r["resources"][0]["uid"], r["resources"][0]["cloud_partition"]) for r in alone] == [(f"arn:aws-us-gov:iam::{GOV}:root", "aws-us-gov")]


def test_org_records_name_each_account_and_skip_the_failed_one(org):
    records = _records(org)
    accounts = Counter((r["cloud"]["account"]["uid"], r["cloud"]["account"]["name"]) for r in records)
    assert set(accounts) == {("111111111111", "prod"), ("222222222222", "dev")}
    bobs = {r["finding_info"]["uid"] for r in records if r["resources"][0]["name"] == "bob.wilson"}
    assert bobs == {finding_id("111111111111", "console_without_mfa", "bob.wilson"), finding_id("222222222222", "console_without_mfa", "bob.wilson")}
    roots = [(r["cloud"]["account"]["uid"], r["unmapped"]["reason"]) for r in records if r["resources"][0]["type"] == "AwsAccount"]
    assert roots == [("222222222222", "root_virtual_mfa_only"), ("222222222222", "root_access_keys")]
    assert all(r["time"] == epoch_ms("2024-01-15T12:00:00+00:00") == 1705320000000 for r in records)


def test_ocsf_is_a_report_format(facts):
    assert FORMATS[-1] == "ocsf"
    assert render(facts, "ocsf") == render_ocsf(facts) == render(facts, "ocsf", previous=facts)


def test_epoch_ms_reads_iso_times():
    assert epoch_ms("1970-01-01T00:00:01.5+00:00") == 1500
    assert epoch_ms("2024-01-15T12:00:00Z") == epoch_ms("2024-01-15T12:00:00") == epoch_ms("2024-01-15T13:00:00+01:00") == 1705320000000


def test_the_collection_does_not_depend_on_py_ocsf_models():
    """Only the tests use it: no code the collection ships imports it."""
    shipped = [p for folder in ("plugins", "awssec", "extensions", "roles") for p in (ROOT / folder).rglob("*.py")]
    assert ROOT / "plugins/module_utils/ocsf.py" in shipped
    for path in shipped:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "py_ocsf_models" for n in names), path
