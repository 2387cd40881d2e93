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


@pytest.mark.parametrize(
    "facts,fmt,message",
    [
        (FACTS, "yaml", "mfa_report: report format must be one of table, json, csv, not 'yaml'"),
        ({"users": []}, "table", "expects the iam_mfa facts"),
        ("not facts", "table", "expects the iam_mfa facts"),
        ({"users": [{"username": "x"}], "summary": summarize([])}, "csv", "the facts are incomplete or malformed"),
    ],
)
def test_filter_errors_name_the_problem(facts, fmt, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        mfa_report(facts, fmt)
