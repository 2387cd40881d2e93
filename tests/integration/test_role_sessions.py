# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Role sessions with MFA: role profiles of the aws CLI's own form and of aws-mfa's, got from the moto server (which
answers AssumeRole as AWS does: trust policies that require MFA, the one-hour limit of role chaining, each TOTP code
accepted once), then used by the real aws CLI and read by the real aws-mfa 0.0.12."""

import json
import subprocess

import boto3
import pexpect
import pytest

from tests.integration.conftest import BIN, ROOT
from tests.integration.test_keyring import keyring_env, keyring_item, secrets_on_disk  # noqa: F401 pylint: disable=unused-import
from tests.integration.workstation import CODES, CREDENTIALS_TEMPLATE, MFA_SERIAL, Collect, task
from tests.support.moto_server import CREDENTIALS

OTHER_ACCOUNT = "210987654321"
ADMIN = "arn:aws:iam::123456789012:role/admin"
AUDIT = f"arn:aws:iam::{OTHER_ACCOUNT}:role/audit"
ROLE_PROFILES = f"""[profile dev-long-term]
region = us-east-1
aws_mfa_device = {{serial}}

# Roles, in the aws CLI's own keys
[profile admin-long-term]
role_arn = {ADMIN}
source_profile = prod-long-term
mfa_serial = {{serial}}
role_session_name = alice

[profile audit-long-term]
role_arn = {AUDIT}
source_profile = prod
external_id = audit-2026
duration_seconds = 7200
region = eu-west-1
"""


def trust(external_id=None):
    """A trust policy that lets the account's users assume the role with MFA only (and the ExternalId, when given)."""
    condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    if external_id:
        condition["StringEquals"] = {"sts:ExternalId": external_id}
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole", "Condition": condition}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def roles(station, aws_like):
    """Role admin in the workstation's account, role audit in another; both may last 12 hours and need MFA."""
    station.iam.create_role(RoleName="admin", AssumeRolePolicyDocument=trust(), MaxSessionDuration=43200)
    keys = {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
    sts = boto3.client("sts", endpoint_url=station.server.url, region_name="us-east-1", **keys)
    seed = sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/seed", RoleSessionName="seed")["Credentials"]  # moto: any role
    other = boto3.client("iam", endpoint_url=station.server.url, region_name="us-east-1", aws_access_key_id=seed["AccessKeyId"],
                         aws_secret_access_key=seed["SecretAccessKey"], aws_session_token=seed["SessionToken"])
    other.create_role(RoleName="audit", AssumeRolePolicyDocument=trust("audit-2026"), MaxSessionDuration=43200)
    aws_like.configure(one_time_codes=True)
    station.write(config=ROLE_PROFILES)
    sent = []
    for action in ("GetSessionToken", "AssumeRole"):
        station.server.before(action, lambda params, action=action: sent.append(dict(params, Action=action)))
    return sent


def aws(station, *args, check=True, env=None):
    """The real aws CLI with the workstation's files only (no keys in its environment)."""
    env = {k: v for k, v in (env or station.env).items() if not k.startswith("AWS_") or k in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")}
    result = subprocess.run([str(BIN / "aws"), *args, "--endpoint-url", station.server.url, "--output", "json"], env=env,
                            capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def test_one_code_gets_the_users_session_and_two_roles_sessions_which_the_aws_cli_uses(station, roles):
    process = station.login(profiles="prod,admin,audit", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never")
    planned = task(process, "Find the profiles that need a new session")["profiles"]
    assert [(p["name"], p["status"], p["code_from"]) for p in planned] == [("prod", "pending", "prod"), ("admin", "pending", "prod"),
                                                                           ("audit", "pending", "prod")]  # one code asked for
    got = {p["name"]: p for p in task(process, "Get the MFA sessions")["profiles"]}
    assert {name: p["status"] for name, p in got.items()} == dict.fromkeys(("prod", "admin", "audit"), "authenticated")
    # The code is sent once, with the long-term key; each role is assumed with the MFA session it gave.
    assert [(r["Action"], r.get("TokenCode"), r.get("DurationSeconds")) for r in roles] == [
        ("GetSessionToken", CODES["prod"], "43200"), ("AssumeRole", None, "3600"), ("AssumeRole", None, "3600")]
    assert roles[1]["RoleArn"] == ADMIN and roles[1]["RoleSessionName"] == "alice" and "ExternalId" not in roles[1]
    assert roles[2]["RoleArn"] == AUDIT and roles[2]["ExternalId"] == "audit-2026" and roles[2]["RoleSessionName"].startswith("awssec-mfa-")
    # Chained: an hour, said in the result (audit asked for two).
    assert got["audit"]["role_chained"] and 3500 < got["audit"]["remaining_seconds"] <= 3600
    assert any("an hour at most" in w for w in got["audit"]["warnings"]) and got["prod"]["role_chained"] is False
    assert got["admin"]["assumed_role_arn"] == "arn:aws:sts::123456789012:assumed-role/admin/alice" and got["audit"]["account"] == OTHER_ACCOUNT
    assert got["prod"]["user"] == "moto" and got["prod"]["key_age_days"] == 350
    admin = station.section("admin")
    assert admin["assumed_role"] == "True" and admin["assumed_role_arn"] == ADMIN and admin["aws_session_token"] == admin["aws_security_token"]
    assert station.section("prod")["assumed_role"] == "False"
    assert station.section("profile audit", station.config) == {"region": "eu-west-1"}  # the role profile's region, for the CLI

    identity = json.loads(aws(station, "sts", "get-caller-identity", "--profile", "admin", "--region", "us-east-1").stdout)
    assert identity["Arn"] == got["admin"]["assumed_role_arn"]
    assert json.loads(aws(station, "sts", "get-caller-identity", "--profile", "audit").stdout)["Account"] == OTHER_ACCOUNT

    # At a terminal, the role asks for that one code once.
    extra = json.dumps({"mfa_workstation_endpoint_url": station.server.url, "profiles": "prod,admin,audit", "mfa_workstation_force": True,
                        "mfa_workstation_rotate": "never"})
    child = pexpect.spawn(str(BIN / "ansible-playbook"), ["awssec.mfa.mfa_login", "-e", extra], env=station.env, cwd=str(ROOT),
                          encoding="utf-8", timeout=120)
    transcript = []
    child.logfile_read = Collect(transcript)
    child.expect(r"Enter MFA token for prod \(one code for prod, admin, audit\)")
    child.sendline("112233")
    child.expect(pexpect.EOF)
    child.close()
    output = "".join(transcript)
    assert child.exitstatus == 0 and output.count("Enter MFA token for") == 1, output


def _aws_mfa(station, profile):
    return subprocess.run([str(BIN / "aws-mfa"), "--profile", profile, "--log-level", "INFO"], env=station.env, input="",
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.both_ends("module:aws_mfa_session", "role:mfa_workstation")
def test_a_role_profile_alone_assumes_the_role_with_the_code_and_aws_mfa_reads_its_session_as_valid(station, roles):
    # aws-mfa's own form: the role beside the long-term key (aws-mfa --profile ops assumes it).
    station.write(credentials=CREDENTIALS_TEMPLATE + f"\n[ops-long-term]\naws_access_key_id = {{key}}\naws_secret_access_key = {{secret}}\n"
                  f"aws_mfa_device = {{serial}}\nassume_role = {ADMIN}\n", config=ROLE_PROFILES)
    process = station.login(profiles="ops", mfa_workstation_token_codes={"ops": CODES["dev"]}, mfa_workstation_rotate="never")
    entry = task(process, "Get the MFA sessions")["profiles"][0]
    assert entry["status"] == "authenticated" and entry["role_arn"] == ADMIN and entry["role_chained"] is False and entry["warnings"] == []
    assert [(r["Action"], r.get("SerialNumber"), r.get("TokenCode"), r["DurationSeconds"]) for r in roles] == [
        ("AssumeRole", MFA_SERIAL, CODES["dev"], "3600")]  # no GetSessionToken: the role's own duration is not cut to an hour
    assert station.section("ops")["assumed_role_arn"] == ADMIN
    before = station.credentials.read_bytes()
    station.server.reset_counts()
    result = _aws_mfa(station, "ops")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"with assumed role: {ADMIN}" in result.stdout and "Your credentials are still valid" in result.stdout
    assert "Enter AWS MFA code" not in result.stdout and station.credentials.read_bytes() == before and station.server.requests == 0

    # A second code for the same device is refused by the server (a TOTP code is good once); a refused AssumeRole writes nothing.
    failed = station.login(profiles="admin", mfa_workstation_token_codes={"admin": CODES["dev"]}, mfa_workstation_rotate="never", check=False)
    entry = task(failed, "Get the MFA sessions")["profiles"][0]
    assert failed.returncode != 0 and entry["status"] == "failed" and "invalid MFA one time pass code" in entry["error"]
    assert station.section("admin") is None and station.credentials.read_bytes() == before


def test_a_role_session_served_by_credential_process_from_the_keyring_is_used_by_the_aws_cli(station, roles, keyring_env):
    process = station.login(profiles="admin", mfa_workstation_token_codes={"admin": CODES["prod"]}, mfa_workstation_rotate="never",
                            mfa_workstation_session_store="credential_process")
    entry = task(process, "Get the MFA sessions")["profiles"][0]
    assert entry["status"] == "authenticated" and entry["assumed_role_arn"] == "arn:aws:sts::123456789012:assumed-role/admin/alice"
    held = keyring_item(keyring_env, "admin", "awssec.mfa AWS MFA session")
    assert held["assumed_role_arn"] == ADMIN and station.section("admin") is None
    assert station.section("profile admin", station.config) == {"credential_process": "awssec-credentials admin"}
    assert secrets_on_disk(station.home, held["aws_secret_access_key"], held["aws_session_token"]) == []
    arn = json.loads(aws(station, "sts", "get-caller-identity", "--profile", "admin", "--region", "us-east-1", env=keyring_env).stdout)["Arn"]
    assert arn == entry["assumed_role_arn"]
    station.server.reset_counts()
    again = station.login(profiles="admin", mfa_workstation_rotate="never", mfa_workstation_session_store="credential_process")
    assert task(again, "Get the MFA sessions")["profiles"][0]["status"] == "valid" and station.server.requests == 0
