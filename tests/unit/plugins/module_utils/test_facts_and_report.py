# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.facts import build_facts, summarize
from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, Gathered, MFADevice, RootRecord, UserRecord
from ansible_collections.awssec.mfa.plugins.module_utils.report import CSV_FIELDS, box, recommendations
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import render

NOW = datetime(2024, 1, 15, 12, 0, tzinfo=timezone.utc)


def _user(name, age, mfa=False, console=False, keys=0, tags=None):
    return UserRecord(
        username=name,
        arn=f"arn:aws:iam::123456789012:user/{name}",
        created=NOW - timedelta(days=age),
        console_access=console,
        password_last_used=NOW - timedelta(days=1) if console else None,
        mfa_devices=[MFADevice("arn:aws:iam::123456789012:mfa/" + name, "virtual")] if mfa else [],
        access_keys=[AccessKey("Active", NOW - timedelta(days=30), NOW - timedelta(days=2), f"AKIA{name[:4].upper()}{i}") for i in range(keys)],
        tags=tags or {},
    )


# The users of the seed's example report.
SEED = [
    _user("john.doe", 400, mfa=True, console=True, keys=2),
    _user("jane.smith", 300, mfa=True, console=True, keys=1),
    _user("bob.wilson", 200, console=True),
    _user("alice.brown", 200, keys=1),
    _user("new.user", 2, console=True),
    _user("svc-backup", 900, keys=1),
]


@pytest.fixture
def facts():
    root = RootRecord(True, False, "hardware", NOW - timedelta(days=200), "not_in_organization")
    gathered = Gathered("123456789012", "credential_report", NOW - timedelta(minutes=3), SEED, root)
    return build_facts(gathered, ClassifyOptions(exclude_users=("svc-*",)), NOW, api_calls=6)


def test_facts_match_the_seed_example(facts):
    assert {u["username"]: u["status"] for u in facts["users"]} == {
        "john.doe": "compliant", "jane.smith": "compliant", "bob.wilson": "non-compliant",
        "alice.brown": "non-compliant", "new.user": "grace-period", "svc-backup": "exempted",
    }
    summary = facts["summary"]
    assert summary["counts"] == {"compliant": 2, "non-compliant": 2, "grace-period": 1, "exempted": 1}
    assert summary["percentages"] == {"compliant": 33.3, "non-compliant": 33.3, "grace-period": 16.7, "exempted": 16.7}
    assert summary["compliance_pct"] == 33.3
    assert summary["console_users_with_mfa_pct"] == 50.0  # john, jane of john, jane, bob, new.user
    assert summary["key_users_with_mfa_pct"] == 50.0  # john, jane of john, jane, alice, svc-backup
    # Only non-compliant users are in the high-risk lists (not new.user in grace, not the exempted svc-backup).
    assert summary["console_without_mfa"] == ["bob.wilson"]
    assert summary["active_keys_without_mfa"] == ["alice.brown"]
    assert facts["root"] == {"mfa_enabled": True, "mfa_type": "hardware", "access_keys_present": False,
                             "password_last_used": (NOW - timedelta(days=200)).isoformat(), "credentials_management": "not_in_organization",
                             "password_never_used": None, "password_present": None, "signing_certificates_present": None,
                             "credentials": "unknown", "organization_member": None, "sign_ins_without_mfa": None, "reasons": []}
    assert facts["evidence"] is None and facts["mfa_device_reads"] == 0
    assert facts["report_generated_at"] == "2024-01-15T11:57:00+00:00"
    assert facts["api_calls"] == 6


def test_user_fact_fields(facts):
    new_user = next(u for u in facts["users"] if u["username"] == "new.user")
    assert new_user["days_since_creation"] == 2 and new_user["grace_days_remaining"] == 5
    assert new_user["risk"] == "medium" and new_user["reasons"] == ["console_without_mfa"]
    john = next(u for u in facts["users"] if u["username"] == "john.doe")
    assert john["active_keys"] == 2 and john["access_keys"][0]["age_days"] == 30
    assert john["mfa_devices"] == [{"serial": "arn:aws:iam::123456789012:mfa/john.doe", "type": "virtual"}]


def test_summary_of_no_users_has_no_percentages():
    summary = summarize([])
    assert summary["total"] == 0
    assert summary["compliance_pct"] is None and summary["console_users_with_mfa_pct"] is None
    assert summary["console_without_mfa"] == [] and summary["active_keys_without_mfa"] == []


def test_json_keeps_the_fields_the_seed_script_reads(facts):
    report = json.loads(render(facts, "json"))
    # The seed's scheduled-enforcement script, as written there.
    users = [u["username"] for u in report["users"] if u["status"] == "non-compliant" and u["days_since_creation"] > 7]
    assert users == ["alice.brown", "bob.wilson"]


def test_csv_has_one_row_per_user(facts):
    rows = list(csv.DictReader(io.StringIO(render(facts, "csv"))))
    assert tuple(rows[0].keys()) == CSV_FIELDS
    assert [r["username"] for r in rows] == sorted(u.username for u in SEED)
    bob = next(r for r in rows if r["username"] == "bob.wilson")
    assert (bob["status"], bob["risk"], bob["reasons"], bob["console_access"]) == ("non-compliant", "high", "console_without_mfa", "true")
    svc = next(r for r in rows if r["username"] == "svc-backup")
    assert svc["exemption_reason"] == "matches exclude_users pattern svc-*"


def test_table_shows_the_seed_sections(facts):
    table = render(facts, "table")
    for text in (
        "IAM MFA COMPLIANCE REPORT", "MFA COMPLIANCE SUMMARY:", "DETAILED USER ANALYSIS:",
        "HIGH-RISK USERS (Console Access + No MFA):", "  • bob.wilson: Console access without MFA protection",
        "ACCESS KEY RISKS (Active Keys + No MFA):", "  • alice.brown: 1 active access key without MFA",
        "  • new.user: grace period, 5 days remaining", "COMPLIANCE TRENDS:",
        "  • Overall compliance: 33.3% (Target: 95%+)", "RECOMMENDATIONS:",
    ):
        assert text in table
    assert "│ Non-compliant │ 2     │ 33.3%      │ High           │" in table
    assert "│ bob.wilson  │ None       │ Yes            │ 0 Keys      │ 2024-01-14    │ High Risk" in table
    # Every line of a table has the same width, so it lines up in a terminal.
    user_table = [line for line in table.splitlines() if line.startswith(("│ john", "│ Username", "┌───────────┬"))]
    assert len({len(line) for line in user_table}) == 1


def test_the_report_names_each_key_of_users_with_key_findings_with_or_without_its_id():
    """From the credential report a key has no id: the report says "key 1 created <date>"; with key_ids, its id too."""
    created, used = NOW - timedelta(days=500), NOW - timedelta(days=400)
    report_keys = [AccessKey("Active", created, used), AccessKey("Active", created + timedelta(days=1))]
    users = [UserRecord("idle", "arn:aws:iam::123456789012:user/idle", NOW - timedelta(days=900), mfa_devices=[MFADevice("s", "virtual")],
                        access_keys=report_keys),
             _user("fine", 100, mfa=True)]
    root = RootRecord(True, False, "hardware", NOW - timedelta(days=200), "not_in_organization")
    facts = build_facts(Gathered("123456789012", "credential_report", NOW, users, root), ClassifyOptions(), NOW, api_calls=6)
    idle = next(u for u in facts["users"] if u["username"] == "idle")
    assert (idle["status"], idle["risk"]) == ("compliant", "medium")
    expected = "key 1 created 2022-09-02, last used 2022-12-11; key 2 created 2022-09-03, last used never"
    assert f"ACCESS KEYS OF USERS WITH KEY FINDINGS:\n  • idle: {expected}\n" in render(facts, "table")
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(render(facts, "csv")))}
    assert rows["idle"]["access_keys"] == expected and rows["fine"]["access_keys"] == ""
    for key, key_id in zip(idle["access_keys"], ("AKIA1", "AKIA2")):
        key["access_key_id"] = key_id
    assert "  • idle: key 1 AKIA1 created 2022-09-02, last used 2022-12-11; key 2 AKIA2 created 2022-09-03" in render(facts, "table")


def test_table_with_no_users_and_no_findings():
    empty = build_facts(Gathered("1", "live", None, [], RootRecord(True, False)), ClassifyOptions(), NOW, 3)
    table = render(empty, "table")
    assert "No users." in table and "n/a" in table
    assert "None: every user is compliant." in table
    assert recommendations(empty) == []


def test_unknown_format_is_named():
    with pytest.raises(ValueError, match="report format must be one of table, json, csv, markdown, html, ocsf, not 'xml'"):
        render({"users": [], "summary": {}}, "xml")


def test_box_pads_every_column():
    assert box(("A", "Bee"), [("xx", 1)]) == [
        "┌────┬─────┐",
        "│ A  │ Bee │",
        "├────┼─────┤",
        "│ xx │ 1   │",
        "└────┴─────┘",
    ]
