# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from tests.integration.conftest import ROOT, adhoc_result, run
from tests.support.demo_account import console_users_with_devices, expected_counts, seed_demo_account
from tests.support.moto_server import CREDENTIALS, reset_moto


def test_adhoc_with_only_endpoint_url_and_region(demo, env):
    # Exactly what a user types: no endpoint or region in the environment, only the options.
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        env.pop(name)
    command = ["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", f"endpoint_url={demo.server.url}"]
    # No region is assumed (us-east-1 would sign for the wrong partition in GovCloud and China): botocore asks for one.
    refused = run(command, env, check=False)
    assert refused.returncode != 0 and "You must specify a region" in refused.stdout
    result = run(command[:-1] + [f"{command[-1]} region=us-east-1"], env)
    facts = adhoc_result(result.stdout)["ansible_facts"]["iam_mfa"]
    counts, by_name = expected_counts(demo.users, demo.today, exclude=())
    assert facts["summary"]["counts"] == counts
    assert {u["username"]: u["status"] for u in facts["users"]} == by_name
    assert facts["account_id"] == "123456789012" and facts["source"] == "credential_report"
    assert facts["summary"]["total"] == len(demo.users) == 57


def _facts(demo, env, *args):
    result = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", " ".join(args)], env)
    return adhoc_result(result.stdout)["ansible_facts"]["iam_mfa"]


def test_both_sources_agree_on_every_demo_user(demo, env):
    options = 'exclude_users=svc-* require_hardware_mfa=true'
    report = _facts(demo, env, "source=credential_report", options)
    live = _facts(demo, env, "source=live", options)
    verdicts = {name: {u["username"]: (u["status"], u["risk"], u["reasons"]) for u in facts["users"]}
                for name, facts in (("report", report), ("live", live))}
    assert verdicts["report"] == verdicts["live"]
    assert len(verdicts["live"]) == 57
    expected = expected_counts(demo.users, demo.today)[1]
    assert {name: v[0] for name, v in verdicts["live"].items()} == expected
    # The findings are spread over every reason, so the comparison covers them all.
    assert {r for v in verdicts["live"].values() for r in v[2]} == {
        "console_without_mfa", "active_keys_without_mfa", "key_older_than_max_age",
        "unused_credentials", "multiple_active_keys", "virtual_mfa_only", "keys_not_mfa_protected", "exemption_expired",
    }
    # API calls grow with pages for the report, with users when live; with require_hardware_mfa the report reads the devices of
    # the users with MFA (one call each: it does not show a hardware device next to a virtual one), and it reads live the
    # users compliant only for want of a credential (five calls each).
    bare = [u for u in report["users"] if u["status"] == "compliant" and not (u["mfa_enabled"] or u["console_access"] or u["active_keys"])]
    assert report["mfa_device_reads"] == sum(u["mfa_enabled"] for u in report["users"]) > 0
    assert report["api_calls"] <= 10 + report["mfa_device_reads"] + 5 * len(bare) + 1
    plain = _facts(demo, env, "source=credential_report", "exclude_users=svc-*")
    assert plain["api_calls"] <= 10 + plain["mfa_device_reads"] + 5 * len(bare) + 1 and plain["mfa_device_reads"] < report["mfa_device_reads"]
    assert report["api_calls"] < 5 * 57 <= live["api_calls"]
    assert report["report_generated_at"] is not None and live["report_generated_at"] is None


def test_check_mode_reads_the_same(demo, env):
    facts = adhoc_result(run(["ansible", "localhost", "--check", "-m", "awssec.mfa.iam_mfa_facts"], env).stdout)
    assert facts["changed"] is False
    assert facts["ansible_facts"]["iam_mfa"]["summary"]["total"] == 57


def test_bad_option_values_fail_before_any_call(demo, env):
    demo.server.reset_counts()
    result = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", "grace_period_days=-1 max_key_age_days=-5"], env, check=False)
    assert result.returncode != 0
    assert "grace_period_days must be 0 or more, not -1; max_key_age_days must be 0 or more, not -5" in result.stdout
    assert demo.server.requests == 0


def test_include_users_and_exempt_tag(demo, env):
    facts = _facts(demo, env, "include_users=contractor.*,legacy.*,svc-backup", "exclude_users=svc-*")
    users = {u["username"]: u for u in facts["users"]}
    assert sorted(users) == ["contractor.kim", "legacy.report", "svc-backup"]
    assert users["contractor.kim"]["exemption"] == {
        "reason": "external auditor, no MFA device issued", "until": "2099-12-31", "source": "tag"}
    assert users["legacy.report"]["status"] != "exempted"  # its tag expired in 2020
    assert users["svc-backup"]["status"] == "non-compliant"  # included, so not excluded


def test_unreachable_endpoint_fails_clearly(env):
    # A secret of its own (the endpoint is never reached), which nothing else in the output could contain.
    secret = "Unreached-Secret-Never-Printed-7f3a"
    result = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", "endpoint_url=http://127.0.0.1:9"],
                 dict(env, AWS_SECRET_ACCESS_KEY=secret), check=False)
    assert result.returncode != 0
    assert "Failed to get the caller identity (sts:GetCallerIdentity)" in result.stdout
    assert secret not in result.stdout and secret not in result.stderr


@pytest.mark.both_ends("module:iam_mfa_facts")
def test_facts_are_returned_once_as_ansible_facts(demo, env):
    result = adhoc_result(run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts"], env).stdout)
    assert "iam_mfa" not in result
    assert result["ansible_facts"]["iam_mfa"]["summary"]["total"] == 57


def test_readme_gate_reads_the_fact_with_facts_not_injected(demo, env, tmp_path):
    # The README's "In a playbook" example, as written there, with ansible-core not injecting facts as variables.
    readme = (ROOT / "README.md").read_text()
    playbook = tmp_path / "gate.yml"
    playbook.write_text(readme.split("In a playbook:\n\n```yaml\n", 1)[1].split("```", 1)[0])
    result = run(["ansible-playbook", str(playbook)], dict(env, ANSIBLE_INJECT_FACT_VARS="False"), check=False)
    console_without_mfa = sorted(u.name for u in demo.users
                                 if u.console and u.expected_status(demo.today, ("svc-*",)) == "non-compliant")
    assert console_without_mfa and result.returncode == 2, result.stdout
    assert f"Console users without MFA: {', '.join(console_without_mfa)}" in result.stdout
    assert "is undefined" not in result.stdout


@pytest.mark.parametrize("region, partition", [("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn")])
def test_the_report_is_exact_in_govcloud_and_china(moto_server, env, region, partition):
    """The demo account in another partition: the same statuses as in aws, every ARN in that partition."""
    reset_moto()
    iam = boto3.client("iam", endpoint_url=moto_server.url, region_name=region, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    users = seed_demo_account(iam)
    env["AWS_DEFAULT_REGION"] = region
    for source in ("credential_report", "live"):
        facts = _facts(None, env, f"source={source}")
        counts, by_name = expected_counts(users, datetime.now(timezone.utc).date(), exclude=())
        assert facts["summary"]["counts"] == counts
        assert {u["username"]: u["status"] for u in facts["users"]} == by_name
        assert {u["arn"].split(":")[1] for u in facts["users"]} == {partition}


def test_whether_each_users_keys_work_without_mfa(moto_server, iam, env, aws_like):
    """An MFA device protects the console; keys are refused without MFA only by a policy that denies it."""
    from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy
    allow_with_mfa = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    require = iam.create_policy(PolicyName="RequireMFA", PolicyDocument=json.dumps(mfa_policy()))["Policy"]["Arn"]
    allow = iam.create_policy(PolicyName="AllowWithMFA", PolicyDocument=json.dumps(allow_with_mfa))["Policy"]["Arn"]
    iam.create_group(GroupName="admins")
    iam.put_group_policy(GroupName="admins", PolicyName="mfa", PolicyDocument=json.dumps(mfa_policy()))
    for name in ("unguarded", "guarded", "grouped", "allow-pattern", "no-keys"):
        iam.create_user(UserName=name)
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
        if name != "no-keys":
            iam.create_access_key(UserName=name)
    iam.attach_user_policy(UserName="guarded", PolicyArn=require)
    iam.add_user_to_group(UserName="grouped", GroupName="admins")
    iam.attach_user_policy(UserName="allow-pattern", PolicyArn=allow)
    aws_like.reset(paging=True, report=True, report_polls=0)

    for source in ("source=credential_report", "source=live"):
        users = {u["username"]: u for u in _facts(None, env, source, "grace_period_days=0")["users"]}
        assert {n: u["keys_mfa_protected"] for n, u in users.items()} == {
            "unguarded": False, "guarded": True, "grouped": True, "allow-pattern": False, "no-keys": None}, source
        assert [n for n, u in users.items() if "keys_not_mfa_protected" in u["reasons"]] == ["allow-pattern", "unguarded"], source
        assert all(u["status"] == "compliant" for u in users.values())  # reported, status unchanged by default
    required = {u["username"]: u["status"] for u in _facts(None, env, "grace_period_days=0 require_mfa_policy_for_keys=true")["users"]}
    assert required == {"unguarded": "non-compliant", "guarded": "compliant", "grouped": "compliant",
                        "allow-pattern": "non-compliant", "no-keys": "compliant"}


def test_device_kinds_the_root_user_and_console_sign_ins(moto_server, iam, env, aws_like):
    """Security keys told from TOTP tokens (read only when asked), the root user as CIS sees it, and CloudTrail's
    console sign-ins without MFA, served by the AWS-like server (moto has neither the root's device nor LookupEvents)."""
    console_users_with_devices(iam, {"ana": "arn:aws:iam::123456789012:u2f/user/ana/yubikey-AB12CD34", "ben": "GAHT00000001",
                                     "dee": "virtual", "eve": None})
    now = datetime.now(timezone.utc)

    def at(hours):
        return (now - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    logins = [{"user": "dee", "mfa": True, "time": at(n)} for n in range(1, 56)]  # more than a page of 50
    logins += [{"user": "eve", "mfa": False, "time": at(30)}, {"user": "eve", "mfa": False, "time": at(200)},
               {"user": "ben", "mfa": False, "time": at(5), "success": False},  # a failed sign-in is no sign-in
               {"user": "ana", "mfa": False, "time": at(24 * 40)},  # before the 30 days asked for
               {"user": None, "mfa": False, "time": at(48)}]  # the root user
    aws_like.reset(paging=True, report=True, report_polls=0, organizations_features=("RootCredentialsManagement",), console_logins=tuple(logins),
                   root={"mfa": "virtual", "access_keys": True, "password_last_used": "2026-11-01T08:00:00+00:00"})

    def facts(*args):
        moto_server.reset_counts()
        gathered = _facts(None, env, "grace_period_days=0", *args)
        return gathered, {u["username"]: u for u in gathered["users"]}

    plain, users = facts()
    # The report says only that MFA is on: ana's and ben's devices, not virtual, are read (they might be gone since the report).
    assert {n: [d["type"] for d in u["mfa_devices"]] for n, u in users.items()} == {
        "ana": ["security_key"], "ben": ["hardware"], "dee": ["virtual"], "eve": []}
    assert moto_server.actions["ListMFADevices"] == plain["mfa_device_reads"] == 2 and plain["evidence"] is None
    assert all(u["sign_ins_without_mfa"] is None for u in users.values())

    strict, users = facts("require_phishing_resistant_mfa=true", "evidence_days=30")
    assert {n: [d["type"] for d in u["mfa_devices"]] for n, u in users.items()} == {
        "ana": ["security_key"], "ben": ["hardware"], "dee": ["virtual"], "eve": []}
    assert moto_server.actions["ListMFADevices"] == strict["mfa_device_reads"] == 2  # ana's and ben's: their MFA is not virtual
    assert {n: (u["status"], u["reasons"]) for n, u in users.items()} == {
        "ana": ("compliant", []),
        "ben": ("non-compliant", ["not_phishing_resistant"]),
        "dee": ("non-compliant", ["not_phishing_resistant"]),
        "eve": ("non-compliant", ["console_without_mfa", "signed_in_without_mfa"]),
    }
    assert users["eve"]["sign_ins_without_mfa"] == {"count": 2, "last": at(30).replace("Z", "+00:00")}
    assert users["dee"]["sign_ins_without_mfa"] == {"count": 0, "last": None}
    assert users["ana"]["sign_ins_without_mfa"] == {"count": 0, "last": None}  # 40 days ago is outside the window
    lookups = sum(n for action, n in moto_server.actions.items() if action.endswith(".LookupEvents"))
    assert strict["evidence"] == {"days": 30, "region": "us-east-1", "events": 59, "calls": 2} and lookups == 2
    assert aws_like.throttled["LookupEvents"] == 0  # paced under CloudTrail's 2 requests a second
    assert strict["root"] == {
        "mfa_enabled": True, "mfa_type": "virtual", "access_keys_present": True, "password_last_used": "2026-11-01T08:00:00+00:00",
        "password_never_used": False, "password_present": True, "signing_certificates_present": False, "credentials": "password,access_keys",
        "organization_member": False, "credentials_management": "enabled", "sign_ins_without_mfa": {"count": 1, "last": at(48).replace("Z", "+00:00")},
        "reasons": ["root_virtual_mfa_only", "root_access_keys"]}  # the management account keeps its own root credentials

    live, users = facts("source=live", "require_phishing_resistant_mfa=true")
    assert {n: [d["type"] for d in u["mfa_devices"]] for n, u in users.items()} == {
        "ana": ["security_key"], "ben": ["hardware"], "dee": ["virtual"], "eve": []}
    assert live["mfa_device_reads"] == 0 and live["root"]["password_last_used"] is None  # no report, no root row

    aws_like.configure(root={"mfa": "hardware"}, organizations_features_error="AccountNotManagementOrDelegatedAdministratorException")
    member, dummy = facts()
    assert (member["root"]["mfa_type"], member["root"]["reasons"], member["root"]["credentials_management"]) == ("hardware", [], "unknown")
    unset = dict(env)
    unset.pop("AWS_DEFAULT_REGION", None)
    unset.pop("AWS_REGION", None)
    refused = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", "evidence_days=7"], unset, check=False)
    assert refused.returncode != 0 and "evidence_days needs a region" in refused.stdout
    too_long = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", "evidence_days=91"], env, check=False)
    assert too_long.returncode != 0 and "evidence_days must be from 0 to 90" in too_long.stdout


def test_a_standalone_accounts_root_user_is_reported_as_before_and_one_without_credentials_needs_no_mfa(moto_server, env, aws_like):
    """Not in an Organization: a root user with a password and no MFA is root_without_mfa, as before; one without any credential
    (no password, access key or signing certificate) has nothing to protect: no finding, and the report says so."""
    aws_like.reset(paging=True, report=True, root={"mfa": "none", "password": False, "access_keys": False})
    assert _facts(None, env)["root"]["reasons"] == []  # was root_without_mfa: AccountMFAEnabled is 0 where no password is left
    aws_like.reset(paging=True, report=True, root={"mfa": "none", "password_last_used": "2026-11-03T10:15:00+00:00"})
    facts = _facts(None, env)
    root = facts["root"]
    assert (root["credentials"], root["credentials_management"], root["organization_member"]) == ("password", "not_in_organization", None)
    assert root["reasons"] == ["root_without_mfa"] and root["password_last_used"] == "2026-11-03T10:15:00+00:00"
    table = run(["ansible", "localhost", "-m", "ansible.builtin.debug", "-a", "msg={{ facts | awssec.mfa.mfa_report('table') }}",
                 "-e", json.dumps({"facts": facts})], env).stdout
    assert "Credentials: password   MFA: NOT ENABLED   Access keys: none   Password last used: 2026-11-03 10:15 UTC" in table
    assert "Enable MFA on the root user" in table

    aws_like.reset(paging=True, report=True, root={"mfa": "none", "password": False, "access_keys": False})
    root = _facts(None, env)["root"]
    assert (root["credentials"], root["password_present"], root["reasons"]) == ("none", False, [])
    aws_like.reset(paging=True, report=True, root={"mfa": "none", "password": False, "certificates": True})
    root = _facts(None, env)["root"]  # a signing certificate is a credential, but without a password there is no sign-in to protect
    assert (root["credentials"], root["reasons"]) == ("signing_certificates", [])


@pytest.mark.parametrize("kind", ["virtual", "hardware"])
def test_a_device_removed_after_the_report_is_seen_by_the_report_and_by_enforcement(moto_server, iam, env, aws_like, kind):
    """AWS serves the report it made up to 4 hours: a user whose device was removed since has no MFA, whatever it says."""
    from tests.integration.test_enforce_playbook import enforce, planned

    console_users_with_devices(iam, {"lost": "virtual" if kind == "virtual" else "GAHT00000007", "kept": "virtual"})
    aws_like.advance(-3600)  # the report below is made an hour ago, by the server's clock
    first = _facts(None, env, "grace_period_days=0")
    aws_like.advance(3600)
    assert {u["username"]: u["status"] for u in first["users"]} == {"kept": "compliant", "lost": "compliant"}
    serial = iam.list_mfa_devices(UserName="lost")["MFADevices"][0]["SerialNumber"]
    iam.deactivate_mfa_device(UserName="lost", SerialNumber=serial)
    if kind == "virtual":
        iam.delete_virtual_mfa_device(SerialNumber=serial)

    facts = _facts(None, env, "grace_period_days=0")
    assert facts["report_generated_at"] == first["report_generated_at"] and facts["report_age_seconds"] >= 3600  # the same report
    users = {u["username"]: u for u in facts["users"]}
    assert users["lost"]["status"] == "non-compliant" and users["lost"]["mfa_enabled"] is False
    assert users["lost"]["reasons"] == ["console_without_mfa"] and users["kept"]["status"] == "compliant"
    result, dummy, dummy = enforce(moto_server, env, "--check", mfa_enforce_grace_period_days=0)
    assert set(planned(result)) == {"lost"}  # kept has MFA; lost has none now
