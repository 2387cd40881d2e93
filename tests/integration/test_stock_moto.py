# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""On a stock moto server (what most users test with), the main paths work: the report, the enforcement preview and
make demo's checks. Calls moto lacks (iam:ListOrganizationsFeatures answers an HTML page, which botocore cannot parse;
cloudtrail:LookupEvents) are enrichment: each becomes unknown with a warning that names it, never a failure."""

import json

import pytest

from tests.integration.conftest import adhoc_result, run
from tests.integration.test_cli import awssec
from tests.integration.test_enforce_playbook import DEMO, account_state, enforce, planned
from tests.support.demo_account import EXCLUDE_USERS, expected_counts


@pytest.fixture
def stock(aws_like, demo):
    aws_like.reset(stock=True)
    return demo


def test_the_report_module_and_cli_answer_with_a_warning_naming_the_call(stock, env):
    result = adhoc_result(run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", "region=us-east-1 evidence_days=7"], env).stdout)
    facts = result["ansible_facts"]["iam_mfa"]
    assert facts["summary"]["counts"] == expected_counts(stock.users, stock.today, exclude=())[0]
    assert facts["root"]["credentials_management"] == "unknown" and facts["evidence"] is None
    warned = " ".join(facts["warnings"])
    assert "iam:ListOrganizationsFeatures" in warned and "cloudtrail:LookupEvents" in warned and "<" not in warned  # no HTML page
    report = awssec(env, "iam-mfa", "report", "--output", "json", check=False)
    assert report.returncode == 0 and "Traceback" not in report.stderr
    assert json.loads(report.stdout)["summary"]["counts"] == facts["summary"]["counts"]


def test_the_report_playbook_counts_what_the_demo_made(stock, env, tmp_path):
    saved = tmp_path / "mfa-report.json"
    run(["ansible-playbook", "awssec.mfa.report", "-e", json.dumps({"mfa_report_exclude_users": EXCLUDE_USERS, "mfa_report_save_path": str(saved)})],
        env)
    assert json.loads(saved.read_text())["summary"]["counts"] == expected_counts(stock.users, stock.today)[0]


def test_the_enforcement_preview_changes_nothing(stock, env):
    before = account_state(stock.iam)
    preview, dummy, dummy = enforce(stock.server, env, "--check", **DEMO)
    assert planned(preview) and account_state(stock.iam) == before
