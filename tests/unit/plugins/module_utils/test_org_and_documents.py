# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Aggregating accounts, trends, the Markdown and HTML reports, and the accounts inventory's host records."""

import copy
import csv
import io
import re

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.org import account_hosts
from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.facts import build_facts
from ansible_collections.awssec.mfa.plugins.module_utils.org import aggregate, trends
from ansible_collections.awssec.mfa.plugins.module_utils.records import Gathered, RootRecord
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import render
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import key_age_histogram
from tests.unit.plugins.module_utils.test_facts_and_report import NOW, SEED, _user


def account(account_id, users):
    return build_facts(Gathered(account_id, "credential_report", NOW, users, RootRecord(True, False)), ClassifyOptions(), NOW, api_calls=8)


@pytest.fixture
def org():
    return aggregate([
        {"account_id": "111111111111", "account_name": "prod", "facts": account("111111111111", SEED)},
        {"account_id": "222222222222", "account_name": "dev", "facts": account("222222222222", [_user("dev.one", 100, console=True)])},
        {"account_id": "333333333333", "account_name": "broken", "error": "AccessDenied: cannot assume the role"},
    ], "2024-01-15T12:00:00+00:00")


def test_aggregate_keeps_a_row_per_account_and_counts_every_user(org):
    assert [(a["account_name"], a["status"]) for a in org["accounts"]] == [("broken", "failed"), ("dev", "ok"), ("prod", "ok")]
    assert org["accounts"][0]["error"] == "AccessDenied: cannot assume the role"
    assert org["summary"]["total"] == len(SEED) + 1 == len(org["users"])
    assert org["summary"]["counts"]["non-compliant"] == 4  # bob, alice, svc-backup in prod (no exclusions), dev.one
    assert {u["account_name"] for u in org["users"]} == {"prod", "dev"}
    assert org["account_id"] == "3 accounts, 1 failed" and "broken: not reported" in org["warnings"][-1]


def test_every_format_renders_an_org_report(org):
    table = render(org, "table")
    assert "ACCOUNTS:" in table and "FAILED" in table and "prod" in table
    rows = list(csv.DictReader(io.StringIO(render(org, "csv"))))
    assert rows[0]["account_name"] in ("prod", "dev") and len(rows) == 7
    markdown = render(org, "markdown")
    assert "## Accounts" in markdown and "| broken | 333333333333 | FAILED: AccessDenied: cannot assume the role |" in markdown


def test_html_is_self_contained_escaped_and_charted(org):
    hostile = copy.deepcopy(org)
    hostile["users"][0]["username"] = "<script>alert(1)</script>"
    page = render(hostile, "html")
    assert "<script" not in page and "&lt;script&gt;" in page
    for pattern in (r"\bsrc\s*=", r"\bhref\s*=", r"url\(", r"@import", r"https?:", r"<link"):
        assert not re.search(pattern, page, re.I)
    assert page.count("<svg") == 3 and "Compliance by account" in page and "broken (failed)" in page
    single = render(account("111111111111", SEED), "html")
    assert single.count("<svg") == 2  # no per-account chart for one account


def test_an_account_with_no_users_is_n_a_in_the_chart_as_in_the_tables():
    """The compliance of an account with no users is not 0%: the tables say n/a, and so does the chart (no bar)."""
    org = aggregate([{"account_id": "111111111111", "account_name": "prod", "facts": account("111111111111", SEED)},
                     {"account_id": "444444444444", "account_name": "empty", "facts": account("444444444444", [])}], "2024-01-15T12:00:00+00:00")
    page = render(org, "html")
    chart = page[page.index('aria-label="Compliance by account"'):]
    chart = chart[:chart.index("</svg>")]
    empty = chart[chart.index(">empty</text>"):]
    empty = empty[:empty.index("</text>", len(">empty</text>")) + len("</text>")]
    assert empty.endswith(">n/a</text>") and "<rect" not in empty and "0%" not in empty
    assert chart.count("<rect") == 1 and "| empty | 444444444444 | ok | 0 | 0 | 0 | n/a |" in render(org, "markdown")


def test_org_trends_name_users_as_every_list_does(org):
    """Trends said 111111111111/bob.wilson where every other list says prod/bob.wilson."""
    now = copy.deepcopy(org)
    for user in now["users"]:
        if user["account_name"] == "prod" and user["username"] == "bob.wilson":
            user["status"] = "compliant"
        if user["account_name"] == "dev":
            user["status"] = "compliant"
    trend = trends(now, org)
    assert trend["fixed"] == ["dev/dev.one", "prod/bob.wilson"] and trend["newly_non_compliant"] == []
    assert trends(org, now)["newly_non_compliant"] == ["dev/dev.one", "prod/bob.wilson"]


def test_key_age_histogram_counts_active_keys_by_age():
    users = [{"access_keys": [{"status": "Active", "age_days": a} for a in (0, 30, 31, 400, 2000)] + [{"status": "Inactive", "age_days": 5}]}]
    assert dict(key_age_histogram(users)) == {"0-30": 2, "31-90": 1, "91-180": 0, "181-365": 0, "366-730": 1, ">730": 1}


def test_trends_name_newly_non_compliant_and_fixed_users():
    before = account("111111111111", SEED)
    users = [_user("bob.wilson", 200, mfa=True, console=True)] + [u for u in SEED if u.username != "bob.wilson"] + [_user("eve", 50, keys=1)]
    now = account("111111111111", users)
    trend = trends(now, before)
    assert trend["newly_non_compliant"] == ["eve"] and trend["fixed"] == ["bob.wilson"]
    # Before: john.doe and jane.smith compliant of 6 (new.user in its grace period, no exclusions) = 33.3 %.
    # Now: bob.wilson too, of 7 with eve = 3/7 = 42.9 %; the change is 42.9 - 33.3 = 9.6 points.
    assert (trend["compliance_pct_before"], trend["compliance_pct_now"], trend["compliance_change"]) == (33.3, 42.9, 9.6)
    assert "Newly non-compliant: eve" in render(now, "markdown", before)
    assert "Fixed: bob.wilson" in render(now, "table", before) and "Fixed: bob.wilson" in render(now, "html", before)
    assert trends(now, None) is None


def test_account_hosts_from_an_organization_and_a_static_list():
    org_accounts = [{"Id": "123456789012", "Name": "management", "Status": "ACTIVE"},
                    {"Id": "111111111111", "Name": "prod", "Email": "p@example.com", "Status": "ACTIVE"},
                    {"Id": "444444444444", "Name": "gone", "Status": "SUSPENDED"}]
    hosts = account_hosts([{"id": "222222222222", "name": "dev", "profile": "dev-admin"}], org_accounts, "123456789012", "Audit", False)
    assert [(h["account_name"], h["role_arn"], h["aws_profile"]) for h in hosts] == [
        ("prod", "arn:aws:iam::111111111111:role/Audit", ""), ("dev", "", "dev-admin")]
    with_management = account_hosts([], org_accounts, "123456789012", "Audit", True, caller_account="123456789012")
    assert with_management[0]["account_name"] == "management" and with_management[0]["role_arn"] == ""
    assert with_management[1]["role_arn"] == "arn:aws:iam::111111111111:role/Audit"
    # From a delegated administrator account: the management account through the role, the caller's with its credentials.
    delegated = account_hosts([], org_accounts, "123456789012", "Audit", True, caller_account="111111111111")
    assert [h["role_arn"] for h in delegated] == ["arn:aws:iam::123456789012:role/Audit", ""]
    with pytest.raises(ValueError, match=r"accounts\[1\]: id must be 12 digits"):
        account_hosts([{"id": "12"}], [], None, "Audit", False)
    with pytest.raises(ValueError, match="role_arn or profile, not both"):
        account_hosts([{"id": "111111111111", "role_arn": "arn:x", "profile": "p"}], [], None, "Audit", False)
