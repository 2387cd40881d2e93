# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ansible-playbook awssec.mfa.mfa_login with a temporary HOME, against a moto server; the real aws CLI and boto3 read what it writes."""

import json
import stat
from datetime import datetime, timedelta, timezone

import boto3
import pexpect
import pytest

from tests.integration.conftest import BIN, ROOT, adhoc_result, run
from tests.integration.workstation import CODES, CREDENTIALS_TEMPLATE, MFA_SERIAL, Collect, task


def test_login_writes_sessions_the_aws_cli_and_boto3_use_then_skips_them(station, monkeypatch):
    original = station.credentials.read_text()
    process = station.login(profiles="prod,dev", mfa_workstation_token_codes=CODES)
    result = task(process, "Get the MFA sessions")
    assert result["changed"] is True
    by_name = {p["name"]: p for p in result["profiles"]}
    assert [p["name"] for p in result["profiles"]] == ["prod", "dev"]
    for name in ("prod", "dev"):
        assert by_name[name]["status"] == "authenticated"
        assert by_name[name]["user"] == "moto" and by_name[name]["account"] == "123456789012"
        assert by_name[name]["key_age_days"] == 350 and by_name[name]["key_rotation"] == "recommended"
        section = station.section(name)
        assert section["aws_session_token"] == section["aws_security_token"]
        expires = datetime.strptime(section["expiration"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        assert timedelta(hours=11, minutes=58) < expires - datetime.now(timezone.utc) <= timedelta(hours=12)
    printed = "\n".join(task(process, "Print the result")["msg"])
    assert "✓ Authentication successful! (use profile: prod)" in printed
    assert "ℹ User: moto | Account: 123456789012" in printed
    assert "⚠ Access key age: 350 days - KEY ROTATION RECOMMENDED (expires in 15 days)" in printed

    # Only [prod] and [dev] were added; everything before them is byte for byte what it was.
    assert station.credentials.read_text().startswith(original)
    assert stat.S_IMODE(station.credentials.stat().st_mode) == 0o600

    # The real aws CLI and boto3 use the written profiles (and not the test server's environment credentials).
    profile_env = {k: v for k, v in station.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")}
    cli = run([str(BIN / "aws"), "sts", "get-caller-identity", "--profile", "prod", "--endpoint-url", station.server.url,
               "--output", "json"], profile_env)
    assert json.loads(cli.stdout)["Arn"] == "arn:aws:sts::123456789012:user/moto"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(station.credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(station.config))
    session = boto3.Session(profile_name="dev")
    assert session.get_credentials().token == station.section("dev")["aws_session_token"]
    assert session.client("sts", endpoint_url=station.server.url, region_name="us-east-1").get_caller_identity()["Account"] == "123456789012"

    station.server.reset_counts()
    again = station.login(profiles="prod,dev")
    result = task(again, "Get the MFA sessions")
    assert result["changed"] is False and result["api_calls"] == 0
    assert [p["status"] for p in result["profiles"]] == ["valid", "valid"]
    assert station.server.requests == 0
    assert "✓ Session still valid for 11h 5" in "\n".join(task(again, "Print the result")["msg"])

    before = station.section("prod")
    forced = station.login(profiles="prod", force=True, duration=3600, mfa_workstation_token_codes={"prod": "864200"})
    assert task(forced, "Get the MFA sessions")["profiles"][0]["status"] == "authenticated"
    assert station.section("prod")["expiration"] < before["expiration"]  # a new one-hour session (moto's keys are constant)
    assert station.section("dev") is not None


def test_prompts_once_per_profile_that_needs_a_session(station):
    station.login(profiles="dev", mfa_workstation_token_codes={"dev": CODES["dev"]})  # dev now valid
    extra = json.dumps({"mfa_workstation_endpoint_url": station.server.url, "profiles": "prod,dev"})
    child = pexpect.spawn(str(BIN / "ansible-playbook"), ["awssec.mfa.mfa_login", "-e", extra], env=station.env,
                          cwd=str(ROOT), encoding="utf-8", timeout=120)
    transcript = []
    child.logfile_read = Collect(transcript)
    child.expect("Enter MFA token for prod")
    child.sendline(CODES["prod"])
    child.expect(r"Do you want to rotate this key\? \(yes/no\)")  # prod's key is 350 days old: rotation recommended
    child.sendline("no")
    child.expect(pexpect.EOF)
    child.close()
    output = "".join(transcript)
    assert child.exitstatus == 0, output
    assert output.count("Enter MFA token for") == 1
    assert "Session still valid" in output and "Authentication successful! (use profile: prod)" in output
    assert "KEY ROTATION AVAILABLE" in output and "Rotate the access keys" not in output
    assert CODES["prod"] not in output
    assert station.section("prod")["aws_session_token"]


def test_check_mode_lists_who_would_be_refreshed_and_changes_nothing(station):
    before = station.credentials.read_bytes()
    station.server.reset_counts()
    process = station.login("--check", profiles="prod,dev", mfa_workstation_token_codes=CODES)
    result = task(process, "Get the MFA sessions")
    assert [p["status"] for p in result["profiles"]] == ["pending", "pending"]
    assert result["changed"] is False and station.server.requests == 0
    assert station.credentials.read_bytes() == before
    assert not list(station.credentials.parent.glob("credentials.lock"))


@pytest.mark.both_ends("lookup:aws_profiles")
def test_list_shows_the_seed_labels(station):
    station.login(profiles="dev", mfa_workstation_token_codes={"dev": CODES["dev"]})
    process = station.login(list_profiles=True)
    printed = task(process, "Print the profiles")["msg"]
    assert printed[0] == "Available Profiles:"
    assert "  • prod [Never logged in]" in printed
    assert any(line.startswith("  • dev [MFA Valid: 11h 5") for line in printed)


@pytest.mark.parametrize("case", ["short code", "duration", "unknown profile", "missing mfa_serial", "malformed file",
                                  "missing file", "missing env file", "rejected code", "other digits", "code and newline",
                                  "injected profile name", "injected suffix"])
def test_bad_input_is_named_and_nothing_is_written(station, case):
    variables = {"profiles": "prod", "mfa_workstation_token_codes": {"prod": CODES["prod"]}}
    station.server.reset_counts()
    if case == "short code":
        variables["mfa_workstation_token_codes"] = {"prod": "12345"}
        expected = "the MFA token code for profile 'prod' must be 6 digits"
    elif case in ("other digits", "code and newline"):
        variables["mfa_workstation_token_codes"] = {"prod": "١٢٣٤٥٦" if case == "other digits" else "246810\n"}
        expected = "the MFA token code for profile 'prod' must be 6 digits (0-9) and nothing else"
    elif case == "injected profile name":
        variables["profiles"] = "evil]\naws_access_key_id = AKIAEVIL\n[victim"
        expected = "profile name 'evil]"  # then the name, escaped twice in the printed JSON, then the verdict below
    elif case == "injected suffix":
        variables["mfa_workstation_long_term_suffix"] = "-long-term]\n[victim"
        expected = "long_term_suffix '-long-term]"
    elif case == "duration":
        variables["duration"] = 800
        expected = "duration_seconds=800 is out of range"
    elif case == "unknown profile":
        variables["profiles"] = "staging"
        expected = "unknown profile 'staging': no [staging-long-term] section"
    elif case == "missing mfa_serial":
        station.write(credentials=CREDENTIALS_TEMPLATE.replace("mfa_serial = {serial}\n", ""), config="")
        expected = "no MFA device for profile 'prod': looked for mfa_serial in [profile prod-long-term] of"
    elif case == "malformed file":
        station.write(credentials=CREDENTIALS_TEMPLATE + "this line is not ini\n")
        expected = f"{station.credentials} line 11: neither a [section] header"
    elif case == "missing file":
        station.credentials.unlink()
        expected = (f"unknown profile 'prod': no [prod-long-term] section with aws_access_key_id and aws_secret_access_key "
                    f"in {station.credentials} (which does not exist)")
    elif case == "missing env file":
        variables["mfa_workstation_env_file"] = str(station.home / "nowhere.env")
        expected = f"env_file {station.home / 'nowhere.env'} does not exist"
    else:
        station.server.before("GetSessionToken", lambda params: (403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code."))
        expected = "prod: sts:GetSessionToken failed for profile 'prod': AccessDenied: MultiFactorAuthentication failed"
    before = station.credentials.read_bytes() if station.credentials.exists() else None
    process = station.login(check=False, callback=None, **variables)
    assert process.returncode != 0
    assert expected in process.stdout, process.stdout
    if case.startswith("injected"):
        assert "is refused: a name must not be empty, start or end with a blank, or contain '[', ']'" in process.stdout
    after = station.credentials.read_bytes() if station.credentials.exists() else None
    assert after == before
    assert not list(station.credentials.parent.glob("*.lock"))  # not even the lock was made
    if case != "rejected code":
        assert station.server.actions["GetSessionToken"] == 0


def test_env_file_and_key_expiration_days(station, tmp_path):
    station.credentials.unlink()
    station.config.unlink()
    station.credentials.parent.rmdir()
    env_file = tmp_path / ".env"
    env_file.write_text(f"AWS_ACCESS_KEY_ID={station.key}\nAWS_SECRET_ACCESS_KEY={station.secret}\nAWS_DEFAULT_REGION=us-east-1\n"
                        f"AWS_MFA_SERIAL={MFA_SERIAL}\nAWS_KEY_EXPIRATION_DAYS=300\n")
    process = station.login(profiles="default", mfa_workstation_env_file=str(env_file), mfa_workstation_token_codes={"default": "707070"})
    profile = task(process, "Get the MFA sessions")["profiles"][0]
    assert profile["status"] == "authenticated" and profile["long_term_profile"] == str(env_file)
    assert profile["key_rotation"] == "required" and profile["key_expires_in_days"] == -50
    assert "KEY ROTATION REQUIRED (exceeded 300 days)" in "\n".join(task(process, "Print the result")["msg"])
    assert stat.S_IMODE(station.credentials.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(station.credentials.stat().st_mode) == 0o600
    assert station.section("default")["aws_session_token"]

    # The environment wins over the .env file, as with python-dotenv's load_dotenv.
    station.env["AWS_KEY_EXPIRATION_DAYS"] = "400"
    process = station.login(profiles="default", force=True, mfa_workstation_env_file=str(env_file),
                            mfa_workstation_token_codes={"default": "808080"})
    profile = task(process, "Get the MFA sessions")["profiles"][0]
    assert profile["key_rotation"] == "ok" and profile["key_expires_in_days"] == 50


def test_multiple_active_keys_are_a_warning(station):
    extra = station.iam.create_access_key(UserName="moto")["AccessKey"]["AccessKeyId"]
    process = station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    printed = "\n".join(task(process, "Print the result")["msg"])
    assert "⚠ Multiple access keys detected! Only ONE key should be active." in printed
    assert f"⚠ Current key in use: {station.key}" in printed
    assert f"Extra key: {extra} (Status: Active)" in printed


def test_vvv_output_holds_no_secret(station, tmp_path):
    codes_file = tmp_path / "codes.json"
    codes_file.write_text(json.dumps({"mfa_workstation_token_codes": CODES}))
    process = station.login("-vvv", f"-e@{codes_file}", callback=None, profiles="prod,dev",
                            mfa_workstation_setup=[{"name": "stage", "aws_access_key_id": "AKIASTAGE", "aws_secret_access_key": "stage-secret-value",
                                                    "mfa_serial": MFA_SERIAL, "region": "eu-west-1"}])
    output = process.stdout + process.stderr
    secrets = [station.secret, "stage-secret-value", *CODES.values()]
    for name in ("prod", "dev"):
        section = station.section(name)
        secrets += [section["aws_secret_access_key"], section["aws_session_token"]]
    assert "Authentication successful" in output and "stage" in output
    for secret in secrets:
        assert secret not in output
    assert station.section("stage-long-term")["mfa_serial"] == MFA_SERIAL


@pytest.mark.parametrize("name", ["evil]\naws_access_key_id = AKIAEVIL\n[victim", "prod ", ""])
def test_aws_profile_refuses_a_name_that_could_break_out_of_its_header(station, name):
    before = station.credentials.read_bytes()
    args = json.dumps({"name": name, "values": {"aws_secret_access_key": "attacker-secret"}})
    result = run(["ansible", "localhost", "-m", "awssec.mfa.aws_profile", "-a", args], station.env, check=False)
    assert result.returncode != 0
    message = adhoc_result(result.stdout)["msg"]
    assert f"profile name {name!r} is refused" in message and message.endswith("Nothing was written.")
    assert station.credentials.read_bytes() == before and not list(station.credentials.parent.glob("*.lock"))


@pytest.mark.both_ends("module:aws_profile")
def test_aws_profile_check_diff_then_write(station):
    args = json.dumps({"name": "qa-long-term", "values": {"aws_access_key_id": "AKIAQA", "aws_secret_access_key": "qa-secret-value",
                                                          "mfa_serial": MFA_SERIAL}})
    before = station.credentials.read_text()
    checked = run(["ansible", "localhost", "-m", "awssec.mfa.aws_profile", "-a", args, "--check", "--diff"], station.env)
    assert "[qa-long-term]" in checked.stdout and "aws_secret_access_key = ********" in checked.stdout
    assert "qa-secret-value" not in checked.stdout and station.credentials.read_text() == before
    written = run(["ansible", "localhost", "-m", "awssec.mfa.aws_profile", "-a", args], station.env)
    assert "CHANGED" in written.stdout and "qa-secret-value" not in written.stdout
    assert adhoc_result(written.stdout)["option_names"] == ["aws_access_key_id", "aws_secret_access_key", "mfa_serial"]
    assert station.credentials.read_text().startswith(before)
    assert station.section("qa-long-term") == {"aws_access_key_id": "AKIAQA", "aws_secret_access_key": "qa-secret-value", "mfa_serial": MFA_SERIAL}
    again = run(["ansible", "localhost", "-m", "awssec.mfa.aws_profile", "-a", args], station.env)
    assert "SUCCESS" in again.stdout and '"changed": false' in again.stdout
