# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.awssec.mfa.plugins.filter.mfa_report import FilterModule, mfa_report
from ansible_collections.awssec.mfa.plugins.module_utils.facts import summarize

FACTS = {"users": [], "summary": summarize([]), "source": "live", "generated_at": "2024-01-01T00:00:00+00:00", "root": {}}


def test_filter_is_registered():
    assert FilterModule().filters()["mfa_report"] is mfa_report


def test_filter_renders_each_format():
    assert "IAM MFA COMPLIANCE REPORT" in mfa_report(FACTS)
    assert mfa_report(FACTS, "csv").startswith("username,status,risk,")
    assert '"users": []' in mfa_report(FACTS, "json")
    assert mfa_report(dict(FACTS, account_id="123456789012"), "ocsf") == "[]\n"  # no user and no root finding: no record


@pytest.mark.parametrize(
    "facts,fmt,message",
    [
        (FACTS, "yaml", "mfa_report: report format must be one of table, json, csv, markdown, html, ocsf, not 'yaml'"),
        ({"users": []}, "table", "expects the iam_mfa facts"),
        ("not facts", "table", "expects the iam_mfa facts"),
        ({"users": [{"username": "x"}], "summary": summarize([])}, "csv", "the facts are incomplete or malformed"),
    ],
)
def test_filter_errors_name_the_problem(facts, fmt, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        mfa_report(facts, fmt)


def _entry(username, result, actions, access="keys", reason=None, error=None, after=None):
    entry = {"username": username, "previous_status": "non-compliant", "access": access, "actions": actions, "result": result,
             "justification": "Active access key without MFA", "error": error}
    if reason:
        entry["reason"] = reason
    if after:
        entry["after"] = after
    return entry


LOCKED = {"mfa_enabled": False, "access_keys": {"AKIA1": "Inactive"}, "console_access": False, "policy_attached": True, "tags": {}}
RESULT = {
    "state": "enforced",
    "policy_arn": "arn:aws:iam::1:policy/RequireMFA",
    "policy_change": "create",
    "actions": [
        _entry("alice.brown", "planned", ["disable_key:AKIA1", "attach_policy"], after=LOCKED),
        _entry("bob.wilson", "skipped", [], access="console", reason="mfa_enabled_since_report"),
        _entry("ops.admin", "failed", ["disable_key:AKIA2"], error="Failed to attach: AccessDenied"),
    ],
    "summary": {"users_affected": 2, "keys_disabled": 2, "policies_attached": 1, "consoles_disabled": 0, "skipped": 1, "failed": 1,
                "exempted": [{"username": "svc-backup", "reason": "matches exclude_users pattern svc-*", "until": None}],
                "grace_period": [{"username": "new.user", "days_remaining": 5}]},
}


def test_enforcement_preview_and_results():
    filters = FilterModule().filters()
    preview = filters["mfa_enforcement_report"](RESULT, True)
    for text in ("IAM MFA ENFORCEMENT PREVIEW", "│ alice.brown │ Keys Only", "Disable 1 key, Attach policy", "Active access key without MFA",
                 "│ new.user ", "Within grace period (5 days remaining)", "Exempted: matches exclude_users pattern svc-*",
                 "Would disable 2 access keys of 2 users", "Would create the policy arn:aws:iam::1:policy/RequireMFA",
                 "1 user skipped: bob.wilson", "1 user FAILED: ops.admin", "Run without --check"):
        assert text in preview
    done = dict(RESULT, actions=[dict(e, result="done") if e["result"] == "planned" else e for e in RESULT["actions"]])
    results = filters["mfa_enforcement_report"](done)
    for text in ("IAM MFA ENFORCEMENT COMPLETE", "Previous Status", "No AWS access", "MFA enabled since the report",
                 "FAILED: Disable 1 key done", "Disabled 2 access keys of 2 users"):
        assert text in results
    assert "Run without --check" not in results


def test_enforcement_report_refuses_other_input():
    with pytest.raises(AnsibleFilterError, match="expects the registered result of awssec.mfa.iam_mfa_enforce"):
        FilterModule().filters()["mfa_enforcement_report"]({"users": []})
