# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import csv
import json
import subprocess
import sys

import pytest

from tests.integration.conftest import run
from tests.support.demo_account import EXCLUDE_USERS, expected_counts

# The seed's scheduled-enforcement script reads the JSON report with exactly this code.
SEED_SCRIPT = """
import json
with open('/tmp/mfa-report.json') as f:
    report = json.load(f)
users = [u['username'] for u in report['users'] if u['status'] == 'non-compliant' and u['days_since_creation'] > 7]
print(','.join(users))
"""


def _report(demo, env, **extra):
    variables = {"mfa_report_aws_endpoint_url": demo.server.url, "mfa_report_exclude_users": EXCLUDE_USERS, **extra}
    return run(["ansible-playbook", "awssec.mfa.report", "-e", json.dumps(variables)], env)


def test_table_report_prints_the_seed_sections(demo, env):
    out = _report(demo, env).stdout
    counts = expected_counts(demo.users, demo.today)[0]
    for text in ("IAM MFA COMPLIANCE REPORT", "DETAILED USER ANALYSIS:", "HIGH-RISK USERS (Console Access + No MFA):",
                 "bob.wilson: Console access without MFA protection", "alice.brown: 1 active access key without MFA",
                 "new.user: grace period, 5 days remaining", "svc-backup: exempted (matches exclude_users pattern svc-*)",
                 f"│ Non-compliant │ {counts['non-compliant']:<5} │", f"│ Total         │ {len(demo.users):<5} │", "RECOMMENDATIONS:"):
        assert text in out


@pytest.mark.both_ends("playbook:report.yml", "role:mfa_report", "filter:mfa_report", "module:role_variables", "facts:injected")
def test_json_report_saved_for_the_seed_script(demo, env, tmp_path):
    saved = tmp_path / "mfa-report.json"
    _report(demo, env, mfa_report_formats=[], mfa_report_save_path=str(saved))
    report = json.loads(saved.read_text())
    counts, by_name = expected_counts(demo.users, demo.today)
    assert report["summary"]["counts"] == counts
    assert {u["username"]: u["status"] for u in report["users"]} == by_name
    script = SEED_SCRIPT.replace("/tmp/mfa-report.json", str(saved))
    names = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert sorted(names.split(",")) == sorted(n for n, s in by_name.items() if s == "non-compliant")


def test_csv_report_and_printed_json(demo, env, tmp_path):
    saved = tmp_path / "baseline.csv"
    out = _report(demo, env, mfa_report_formats=["json"], mfa_report_save_path=str(saved)).stdout
    rows = list(csv.DictReader(saved.open()))
    by_name = expected_counts(demo.users, demo.today)[1]
    assert {r["username"]: r["status"] for r in rows} == by_name
    assert '\\"days_since_creation\\": ' in out  # the printed JSON, as the debug callback quotes it
    assert oct(saved.stat().st_mode & 0o777) == "0o640"


def test_formats_given_as_the_playbooks_header_shows_them_a_word_or_a_comma_separated_list(demo, env):
    """``-e mfa_report_formats=json`` (playbooks/report.yml's header) is a string, not a list: it failed with "The loop value
    must resolve to a list, not str"."""
    endpoint = json.dumps({"mfa_report_aws_endpoint_url": demo.server.url})
    for formats, printed in (("json", ['\\"summary\\": ']), ("json,table", ['\\"summary\\": ', "IAM MFA COMPLIANCE REPORT"])):
        out = run(["ansible-playbook", "awssec.mfa.report", "-e", endpoint, "-e", f"mfa_report_formats='{formats}'"], env).stdout
        assert all(text in out for text in printed), formats
        assert ("IAM MFA COMPLIANCE REPORT" in out) is ("table" in formats)


def test_check_mode_saves_nothing(demo, env, tmp_path):
    saved = tmp_path / "report.txt"
    variables = {"mfa_report_aws_endpoint_url": demo.server.url, "mfa_report_save_path": str(saved)}
    out = run(["ansible-playbook", "awssec.mfa.report", "--check", "-e", json.dumps(variables)], env).stdout
    assert "IAM MFA COMPLIANCE REPORT" in out
    assert not saved.exists()


def test_bad_role_input_is_named(demo, env):
    """Each mistake named, and nothing else: Ansible's own check of a role's arguments prints the whole argument spec."""
    variables = {"mfa_report_aws_endpoint_url": demo.server.url, "mfa_report_formats": ["xml"], "mfa_report_grace_period_days": "soon"}
    demo.server.reset_counts()
    result = run(["ansible-playbook", "awssec.mfa.report", "-e", json.dumps(variables)], env, check=False)
    assert result.returncode != 0 and not demo.server.actions
    assert "mfa_report_formats" in result.stdout and "xml" in result.stdout and "mfa_report_grace_period_days" in result.stdout
    assert "The variables of the role awssec.mfa.mfa_report are not valid" in result.stdout
    assert "argument_spec_data" not in result.stdout and "mfa_report_exempt_tag" not in result.stdout  # no dump of the spec
    assert len(result.stdout) < 4000


def test_a_save_path_in_a_missing_folder_fails_before_any_aws_call(demo, env, tmp_path):
    missing = tmp_path / "no-such-folder"
    demo.server.reset_counts()
    variables = {"mfa_report_aws_endpoint_url": demo.server.url, "mfa_report_save_path": str(missing / "report.json")}
    result = run(["ansible-playbook", "awssec.mfa.report", "-e", json.dumps(variables)], env, check=False)
    assert result.returncode != 0 and not demo.server.actions and not missing.exists()
    assert f"mfa_report_save_path: the folder {missing} does not exist; create it first" in " ".join(result.stdout.split())
    enforce = {"mfa_enforce_aws_endpoint_url": demo.server.url, "mfa_enforce_save_path": str(missing / "plan.txt")}
    result = run(["ansible-playbook", "awssec.mfa.enforce", "--check", "-e", json.dumps(enforce)], env, check=False)
    assert result.returncode != 0 and not demo.server.actions and not missing.exists()
    assert f"mfa_enforce_save_path: the folder {missing} does not exist; create it first" in " ".join(result.stdout.split())


def test_a_previous_report_that_is_not_one_is_named_before_any_aws_call(demo, env, tmp_path):
    for content, said in (("not json\n", "is not JSON (Expecting value: line 1 column 1 (char 0))"), ('{"users": []}', "is JSON but not a report")):
        previous = tmp_path / "previous.json"
        previous.write_text(content)
        demo.server.reset_counts()
        variables = {"mfa_report_aws_endpoint_url": demo.server.url, "mfa_report_previous": str(previous)}
        result = run(["ansible-playbook", "awssec.mfa.report", "-e", json.dumps(variables)], env, check=False)
        text = " ".join(result.stdout.split())
        assert result.returncode != 0 and not demo.server.actions
        assert f"mfa_report_previous: {previous} {said}" in text and "expected the JSON report that mfa_report_save_path=report.json writes" in text


def test_the_report_entry_point_renders_the_facts_gathered_before_without_gathering_again(demo, env, tmp_path):
    """tasks_from: report renders ansible_facts.iam_mfa (org_report's module mode renders iam_mfa_org_facts' facts so:
    passed as mfa_report_facts, thousands of users cost seconds of argument checks)."""
    saved = tmp_path / "report.json"
    playbook = tmp_path / "gather_then_report.yml"
    playbook.write_text(f"""
- hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: Gather
      awssec.mfa.iam_mfa_facts:
        endpoint_url: {demo.server.url}
        exclude_users: {json.dumps(EXCLUDE_USERS)}
    - name: Render what was gathered
      ansible.builtin.include_role:
        name: awssec.mfa.mfa_report
        tasks_from: report
      vars:
        mfa_report_formats: [table]
        mfa_report_save_path: {saved}
""")
    demo.server.reset_counts()
    out = run(["ansible-playbook", str(playbook)], env).stdout
    assert demo.server.actions["GetCallerIdentity"] == 1  # gathered once, by the first task
    assert json.loads(saved.read_text())["summary"]["counts"] == expected_counts(demo.users, demo.today)[0]
    assert "IAM MFA COMPLIANCE REPORT" in out
