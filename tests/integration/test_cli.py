# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The seeds' command lines and Python API, run as their READMEs show, against a moto server with a temporary HOME."""

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone

import pexpect
import pytest

from tests.integration.conftest import BIN, ROOT, adhoc_result, run
from tests.integration.workstation import CODES, Collect, age_key
from tests.support.demo_account import EXCLUDE_USERS, expected_counts

SEED_EXCLUDE = "svc-backup,svc-monitoring"


def awssec(env, *args, check=True, cwd=None):
    return subprocess.run([str(BIN / "awssec"), *args], env=env, cwd=cwd or ROOT, capture_output=True, text=True, check=check,
                          timeout=300, stdin=subprocess.DEVNULL)


def key_statuses(iam):
    return {k["AccessKeyId"]: k["Status"] for u in iam.list_users()["Users"]
            for k in iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"]}


def test_report_in_each_format_matches_the_module(demo, env, tmp_path):
    exclude = ",".join(EXCLUDE_USERS)
    report = json.loads(awssec(env, "iam-mfa", "report", "--output", "json", "--exclude-users", exclude).stdout)
    counts, by_name = expected_counts(demo.users, demo.today)
    assert report["summary"]["counts"] == counts
    assert {u["username"]: u["status"] for u in report["users"]} == by_name
    module = adhoc_result(run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a",
                               json.dumps({"exclude_users": EXCLUDE_USERS})], env).stdout)["ansible_facts"]["iam_mfa"]
    assert {u["username"]: (u["status"], u["risk"], u["reasons"]) for u in module["users"]} == {
        u["username"]: (u["status"], u["risk"], u["reasons"]) for u in report["users"]}

    table = awssec(env, "iam-mfa", "report").stdout
    assert "IAM MFA COMPLIANCE REPORT" in table and "HIGH-RISK USERS (Console Access + No MFA):" in table
    rows = list(csv.DictReader(io.StringIO(awssec(env, "iam-mfa", "report", "--output", "csv").stdout)))
    assert len(rows) == len(demo.users)
    saved = tmp_path / "report.json"
    awssec(env, "iam-mfa", "report", "--output", "json", "--save-report", str(saved))
    assert json.loads(saved.read_text())["summary"]["total"] == len(demo.users)


def test_include_users_reports_only_those(demo, env):
    report = json.loads(awssec(env, "iam-mfa", "report", "--output", "json", "--include-users", "bob.wilson,alice.brown").stdout)
    assert sorted(u["username"] for u in report["users"]) == ["alice.brown", "bob.wilson"]


def test_enforce_needs_dry_run_or_apply_and_dry_run_changes_nothing(demo, env):
    before = key_statuses(demo.iam)
    refused = awssec(env, "iam-mfa", "enforce", check=False)
    assert refused.returncode == 2 and "Refusing to change anything: add --dry-run" in refused.stderr
    # The seed's "awssec iam-mfa enforce --dry-run"; the demo has 16 non-compliant users, more than the default max_affected (10):
    # the preview shows them all and says that applying would be refused; --apply is refused before any change.
    over = awssec(env, "iam-mfa", "enforce", "--dry-run")
    assert "Applying this plan would be refused: 16 users would be acted on, more than max_affected" in over.stdout
    too_many = awssec(env, "iam-mfa", "enforce", "--apply", check=False)
    assert too_many.returncode == 2 and "more than max_affected=10; nothing was changed" in too_many.stderr
    preview = awssec(env, "iam-mfa", "enforce", "--dry-run", "--max-affected", "20")
    assert "IAM MFA ENFORCEMENT PREVIEW" in preview.stdout
    dummy, by_name = expected_counts(demo.users, demo.today, exclude=())
    for name, status in by_name.items():
        if status == "non-compliant":
            assert name in preview.stdout, name
    script = subprocess.run([sys.executable, str(ROOT / "scripts" / "iam_mfa_enforce.py"), "--enforce", "--dry-run", "--max-affected", "20"],
                            env=env, capture_output=True, text=True, check=True)
    assert script.stdout.splitlines()[:5] == preview.stdout.splitlines()[:5]
    assert key_statuses(demo.iam) == before


def test_enforce_apply_with_the_seeds_exclusions(demo, env):
    # The seed's own example, with room for the demo's 15 users
    applied = awssec(env, "iam-mfa", "enforce", "--exclude-users", SEED_EXCLUDE, "--apply", "--max-affected", "20")
    assert "IAM MFA ENFORCEMENT COMPLETE" in applied.stdout
    dummy, by_name = expected_counts(demo.users, demo.today, exclude=tuple(SEED_EXCLUDE.split(",")))
    keys = {u["UserName"]: [k["Status"] for k in demo.iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"]]
            for u in demo.iam.list_users()["Users"]}
    for name, status in by_name.items():
        if status == "non-compliant":
            assert "Active" not in keys[name], name
    assert keys["svc-backup"] == ["Active"] and keys["svc-monitoring"] == ["Active"]  # excluded: untouched
    report = json.loads(awssec(env, "iam-mfa", "report", "--output", "json", "--exclude-users", SEED_EXCLUDE).stdout)
    # Keys-only users are now compliant; who is still non-compliant has console access (not deleted by default).
    assert all(u["console_access"] for u in report["users"] if u["status"] == "non-compliant")


def test_the_script_reports_as_the_seed_shows(demo, env):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "iam_mfa_enforce.py"), "--report", "--output", "csv"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0].startswith("username,status,risk")


def test_the_python_api(demo, env, monkeypatch):
    for name, value in env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    from awssec.tools.iam_mfa import enforce_mfa_compliance, generate_mfa_report

    report = generate_mfa_report(output_format="json", exclude_users=["svc-backup", "svc-monitoring"])
    assert {u["username"] for u in report["users"] if u["status"] == "exempted"} >= {"svc-backup", "svc-monitoring"}
    before = key_statuses(demo.iam)
    from awssec.tools.iam_mfa import TooManyUsers
    with pytest.raises(TooManyUsers, match=r"more than max_affected=10; nothing was changed"):
        enforce_mfa_compliance(dry_run=False, exclude_users=EXCLUDE_USERS)  # the default, 10, as the module's
    over = enforce_mfa_compliance(dry_run=True, exclude_users=EXCLUDE_USERS)  # a preview plans them all, and says so
    assert len(over["over_max_affected"]) > 10 and any("Applying this plan would be refused" in w for w in over["warnings"])
    results = enforce_mfa_compliance(dry_run=True, grace_period_days=30, exclude_users=EXCLUDE_USERS, max_affected=20)
    assert results["summary"] and all(a["result"] in ("planned", "skipped") for a in results["actions"])
    assert key_statuses(demo.iam) == before


# --- aws-mfa-login -----------------------------------------------------------------------------------------------------

def login(station, *args, answers="", cwd=None):
    return subprocess.run([str(BIN / "aws-mfa-login"), *args], env=station.env, cwd=cwd, input=answers, capture_output=True,
                          text=True, timeout=300, check=False)


def test_aws_mfa_login_as_the_seed_shows(station, tmp_path):
    listed = login(station, "--list", cwd=tmp_path)
    assert listed.stdout.splitlines()[:4] == ["Available Profiles:", "-" * 50, "  • dev [Never logged in]", "  • prod [Never logged in]"]

    first = login(station, "-p", "prod", answers=f"{CODES['prod']}\nno\n", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Enter MFA token for prod" in first.stdout and "✓ Authentication successful! (use profile: prod)" in first.stdout
    assert "KEY ROTATION RECOMMENDED (expires in 15 days)" in first.stdout and "Do you want to rotate this key? (yes/no)" in first.stdout
    assert "\033[" not in first.stdout  # no colour when not on a terminal
    assert station.section("prod")["aws_session_token"]
    log = tmp_path / "output" / f"aws_mfa_{datetime.now():%Y%m%d}.log"
    assert "Authentication successful" in log.read_text() and CODES["prod"] not in log.read_text()

    again = login(station, "-a", cwd=tmp_path, answers=f"{CODES['dev']}\nno\n")
    assert again.stdout.count("Enter MFA token for") == 1 and "Enter MFA token for dev" in again.stdout
    assert "✓ Session still valid for 11h" in again.stdout

    forced = login(station, "-p", "prod", "-f", "-d", "3600", answers="864200\nno\n", cwd=tmp_path)
    assert "Requesting session token for 1 hour, 0 minutes" in forced.stdout
    expires = datetime.strptime(station.section("prod")["expiration"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    assert (expires - datetime.now(timezone.utc)).total_seconds() < 3700

    listed = login(station, "-l", cwd=tmp_path)
    assert re.search(r"^  • prod \[MFA Valid: 5\dm remaining\]$", listed.stdout, re.M), listed.stdout


def test_aws_mfa_login_rotates_when_asked(station, tmp_path):
    age_key(station.key, 400)
    result = login(station, "-p", "prod", answers=f"{CODES['prod']}\nyes\n", cwd=tmp_path)
    assert "KEY ROTATION REQUIRED (exceeded 365 days)" in result.stdout
    assert "✓ Key rotation complete for 'prod'!" in result.stdout, result.stdout
    assert station.stored_key()[0] != station.key and station.keys()[station.key] == "Inactive"


def test_script_wrapper_and_help(station, tmp_path):
    for command in ([str(BIN / "awssec"), "--help"], [str(BIN / "awssec"), "iam-mfa", "enforce", "--help"], [str(BIN / "aws-mfa-login"), "--help"],
                    [sys.executable, str(ROOT / "scripts" / "aws_mfa_login.py"), "--help"],
                    [sys.executable, str(ROOT / "scripts" / "iam_mfa_enforce.py"), "--help"]):
        shown = subprocess.run(command, env=station.env, capture_output=True, text=True, check=True, cwd=tmp_path).stdout
        assert "usage:" in shown


@pytest.mark.parametrize("args, message", [(["-p", "staging"], "unknown profile 'staging'"), (["-d", "100", "-p", "prod"], "out of range"),
                                           (["-p", "evil]x"], "profile name 'evil]x' is refused")])
def test_aws_mfa_login_names_bad_input(station, tmp_path, args, message):
    result = login(station, *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stdout


def test_aws_mfa_login_reads_the_code_without_echo_on_a_terminal(station, tmp_path):
    child = pexpect.spawn(str(BIN / "aws-mfa-login"), ["-p", "prod"], env=station.env, cwd=str(tmp_path), encoding="utf-8", timeout=120)
    transcript = []
    child.logfile_read = Collect(transcript)
    child.expect("Enter MFA token for prod")
    child.sendline(CODES["prod"])
    child.expect(r"Do you want to rotate this key\? \(yes/no\)")
    child.sendline("no")
    child.expect(pexpect.EOF)
    child.close()
    output = "".join(transcript)
    assert child.exitstatus == 0 and "✓ Authentication successful! (use profile: prod)" in output, output
    assert CODES["prod"] not in output  # the terminal did not echo it


def test_aws_mfa_login_debug_prints_each_line_once_and_takes_an_endpoint_url(station, tmp_path):
    env = {k: v for k, v in station.env.items() if k != "AWS_ENDPOINT_URL"}
    result = subprocess.run([str(BIN / "aws-mfa-login"), "-p", "prod", "--debug", "--endpoint-url", station.server.url], env=env,
                            cwd=tmp_path, input=f"{CODES['prod']}\nno\n", capture_output=True, text=True, timeout=300, check=False)
    both = result.stdout + result.stderr
    assert result.returncode == 0, both
    assert both.count("✓ Authentication successful! (use profile: prod)") == 1 and both.count("Found 1 profile(s)") == 1
    assert "arguments: " in result.stderr and station.server.url in result.stderr  # the debug records, on stderr
    assert CODES["prod"] not in both and station.section("prod")["aws_session_token"]


def test_the_mfa_code_is_sent_once_even_when_aws_answers_a_retryable_error(station, tmp_path):
    station.server.before("GetSessionToken", lambda params: (500, "InternalError", "We encountered an internal error. Please try again."))
    station.server.reset_counts()
    result = login(station, "-p", "prod", answers=f"{CODES['prod']}\n", cwd=tmp_path)
    assert result.returncode == 1 and "InternalError" in result.stdout, result.stdout
    assert station.server.actions["GetSessionToken"] == 1  # a TOTP code is never accepted twice: never retried


def test_dry_run_and_apply_exclude_each_other_and_nothing_changes(demo, env):
    before = key_statuses(demo.iam)
    both = awssec(env, "iam-mfa", "enforce", "--dry-run", "--apply", check=False)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr and both.stdout == ""
    script = subprocess.run([sys.executable, str(ROOT / "scripts" / "iam_mfa_enforce.py"), "--enforce", "--apply", "--dry-run"],
                            env=env, capture_output=True, text=True, check=False)
    assert script.returncode == 2 and "not allowed with argument" in script.stderr
    assert key_statuses(demo.iam) == before


def test_enforce_targets_the_keys_of_users_with_mfa_when_asked(demo, env):
    before = key_statuses(demo.iam)
    bad = awssec(env, "iam-mfa", "enforce", "--dry-run", "--targets", "non-compliant,everyone", check=False)
    assert bad.returncode == 2 and "targets must be among non-compliant, keys_not_mfa_protected, not 'everyone'" in bad.stderr
    preview = awssec(env, "iam-mfa", "enforce", "--dry-run", "--max-affected", "40", "--targets", "non-compliant,keys_not_mfa_protected")
    facts = adhoc_result(run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts"], env).stdout)["ansible_facts"]["iam_mfa"]
    protected = [u["username"] for u in facts["users"] if "keys_not_mfa_protected" in u["reasons"] and u["status"] != "exempted"]
    assert protected and all(re.search(rf"│ {re.escape(name)} .*│ Attach policy \(keys need MFA\)", preview.stdout) for name in protected)
    assert key_statuses(demo.iam) == before


@pytest.mark.parametrize("option", [["--apply"], ["--dry-run"], ["--max-affected", "3"], ["--disable-console-access"], ["--targets", "x"]])
def test_report_takes_only_its_own_options(env, option):
    refused = awssec(env, "iam-mfa", "report", *option, check=False)
    assert refused.returncode == 2 and f"unrecognized arguments: {option[0]}" in refused.stderr


def test_one_max_affected_default_for_the_cli_the_api_the_module_and_the_role():
    import inspect
    import yaml
    from awssec.tools.iam_mfa import enforce_mfa_compliance
    help_text = subprocess.run([str(BIN / "awssec"), "iam-mfa", "enforce", "--help"], capture_output=True, text=True, check=True).stdout
    role = yaml.safe_load((ROOT / "roles" / "mfa_enforce" / "defaults" / "main.yml").read_text())["mfa_enforce_max_affected"]
    module = yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', (ROOT / "plugins/modules/iam_mfa_enforce.py").read_text(), re.S)[1])
    api = inspect.signature(enforce_mfa_compliance).parameters["max_affected"].default
    assert f"(default: {role})" in " ".join(help_text.split()) and module["options"]["max_affected"]["default"] == role == api == 10


def test_no_credentials_says_why_in_the_cli_and_the_api(tmp_path, monkeypatch):
    bare = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    bare.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1",
                AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    out = awssec(bare, "iam-mfa", "report", check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "error: Failed to get the caller identity (sts:GetCallerIdentity): Unable to locate credentials"
    from awssec.tools import iam_mfa
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name in ("HOME", "AWS_EC2_METADATA_DISABLED", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, bare[name])
    with pytest.raises(iam_mfa.AWSFailure, match=r"^Failed to get the caller identity \(sts:GetCallerIdentity\): Unable to locate credentials$"):
        iam_mfa.generate_mfa_report()
    missing = awssec(bare, "iam-mfa", "report", "--profile", "nowhere", check=False)
    assert missing.returncode == 1 and missing.stderr.strip() == "error: The config profile (nowhere) could not be found"


@pytest.mark.parametrize("region, partition", [("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn")])
def test_the_cli_the_api_and_the_module_write_one_policy_in_another_partition(moto_server, iam, env, region, partition):
    """The CLI and the API run enforce.enforce_account, as the module does: the policy's resources in the caller's partition
    (arn:aws: ones match nothing there, so users could not set up MFA), and no run rewrites another's document."""
    import boto3

    from tests.integration.test_enforce_playbook import enforce
    from tests.support.moto_server import CREDENTIALS

    gov = boto3.client("iam", endpoint_url=moto_server.url, region_name=region, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    for name in ("ana", "bo"):
        gov.create_user(UserName=name)
        gov.create_login_profile(UserName=name, Password="Initial-Passw0rd!")
    arn = f"arn:{partition}:iam::123456789012:policy/RequireMFA"
    preview = awssec(env, "iam-mfa", "enforce", "--dry-run", "--region", region, "--grace-period-days", "0", "--include-users", "ana")
    assert "ana" in preview.stdout and gov.list_policies(Scope="Local")["Policies"] == []
    awssec(env, "iam-mfa", "enforce", "--apply", "--region", region, "--grace-period-days", "0", "--include-users", "ana")

    def document():
        policy = gov.get_policy(PolicyArn=arn)["Policy"]
        return policy["DefaultVersionId"], gov.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    version, written = document()
    resources = {s["Resource"] for s in written["Statement"]} - {"*"}
    assert resources == {f"arn:{partition}:iam::*:mfa/*", f"arn:{partition}:iam::*:user/${{aws:username}}"}
    assert [p["PolicyArn"] for p in gov.list_attached_user_policies(UserName="ana")["AttachedPolicies"]] == [arn]

    module, dummy, dummy = enforce(moto_server, env, "--check", mfa_enforce_aws_region=region, mfa_enforce_grace_period_days=0)
    assert module["policy_change"] == "none" and module["policy_arn"] == arn  # the module finds the CLI's document its own
    from awssec.tools.iam_mfa import enforce_mfa_compliance
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            if name.startswith("AWS_"):
                patch.setenv(name, value)
        api = enforce_mfa_compliance(dry_run=False, grace_period_days=0, include_users="bo", region=region)
    assert api["policy_arn"] == arn and api["policy_change"] == "none" and document() == (version, written)
    assert [p["PolicyArn"] for p in gov.list_attached_user_policies(UserName="bo")["AttachedPolicies"]] == [arn]
    assert [a["actions"] for a in module["actions"] if a["username"] == "bo"] == [a["actions"] for a in api["actions"] if a["username"] == "bo"]
