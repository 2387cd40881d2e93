# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Long-term keys in the OS keyring (long_term_store keyring): a real Secret Service (gnome-keyring-daemon on a D-Bus
session bus of the test's own), the real modules, the real aws CLI on the sessions got with the keys read back."""

import contextlib
import json
import subprocess
import sys

import pytest

from tests.integration.conftest import BIN, run
from tests.integration.workstation import CODES, MFA_SERIAL, task
from tests.support.secret_service import lock, secret_service, unlocked_again

SERVICE = "awssec.mfa AWS long-term access key"


@pytest.fixture
def keyring_env(station, tmp_path):
    """The workstation's environment, leading to a Secret Service of its own."""
    with secret_service(tmp_path / "secret-service") as variables:
        station.env = dict(station.env, **variables)  # the playbooks it runs find the Secret Service too
        yield station.env


def keyring_item(env, section, service=SERVICE):
    """What the Secret Service keeps for ``section`` (of ``service``), read with the keyring library in another process."""
    code = f"import keyring; print(keyring.get_password({service!r}, {section!r}) or '')"
    held = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()
    return json.loads(held) if held else None


def secrets_on_disk(home, *secrets):
    """Every file under ``home`` that holds one of ``secrets``."""
    return sorted(str(path) for path in home.rglob("*") if path.is_file() and any(s.encode() in path.read_bytes() for s in secrets))


def module(env, name, arguments, check=True):
    return run(["ansible", "localhost", "-m", f"awssec.mfa.{name}", "-a", json.dumps(arguments)], env, check=check)


def test_migration_moves_the_key_into_the_keyring_keeping_every_other_byte_and_a_session_is_got_with_it(station, keyring_env):
    original = station.credentials.read_text()
    check = module(keyring_env, "aws_profile", {"name": "prod-long-term", "state": "migrated"})
    assert '"changed": true' in check.stdout
    process = run(["ansible", "localhost", "-m", "awssec.mfa.aws_profile", "-a", json.dumps({"name": "prod-long-term", "state": "migrated"}),
                   "--check"], keyring_env)
    assert '"changed": false' in process.stdout  # done once: nothing more to move
    held = keyring_item(keyring_env, "prod-long-term")
    assert held == {"aws_access_key_id": station.key, "aws_secret_access_key": station.secret}
    # The file: the two key lines gone from [prod-long-term], the marker after its last option, every other byte as it was.
    expected = original.replace(f"aws_access_key_id = {station.key}\naws_secret_access_key = {station.secret}\n", "", 1).replace(
        f"mfa_serial = {MFA_SERIAL}\n", f"mfa_serial = {MFA_SERIAL}\nawssec_long_term_store = keyring\n", 1)
    assert station.credentials.read_text() == expected
    dev = module(keyring_env, "aws_profile", {"name": "dev-long-term", "state": "migrated"})
    assert '"changed": true' in dev.stdout
    assert secrets_on_disk(station.home, station.secret) == []

    # A session with the key read back from the keyring; the real aws CLI uses it.
    login = station.playbook("mfa_login", profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never")
    assert task(login, "Get the MFA sessions")["profiles"][0]["status"] == "authenticated"
    env = {k: v for k, v in keyring_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")}
    cli = run([str(BIN / "aws"), "sts", "get-caller-identity", "--profile", "prod", "--endpoint-url", station.server.url], env)
    assert json.loads(cli.stdout)["Arn"].endswith(":123456789012:user/moto")
    assert secrets_on_disk(station.home, station.secret) == []  # the session's own secret is in [prod], the long-term key nowhere


def test_the_roles_set_up_keeps_the_key_in_the_keyring_only_and_logs_in_with_it(station, keyring_env):
    """mfa_workstation_setup with mfa_workstation_long_term_store keyring, then the login of the same run."""
    setup = [{"name": "ops", "aws_access_key_id": station.key, "aws_secret_access_key": station.secret, "mfa_serial": MFA_SERIAL}]
    station.credentials.write_text("# nothing here yet\n")
    login = station.playbook("mfa_login", profiles="ops", mfa_workstation_setup=setup, mfa_workstation_long_term_store="keyring",
                             mfa_workstation_token_codes={"ops": CODES["prod"]}, mfa_workstation_rotate="never")
    assert task(login, "Get the MFA sessions")["profiles"][0]["status"] == "authenticated"
    assert keyring_item(keyring_env, "ops-long-term") == {"aws_access_key_id": station.key, "aws_secret_access_key": station.secret}
    assert station.section("ops-long-term") == {"mfa_serial": MFA_SERIAL, "awssec_long_term_store": "keyring"}
    assert station.credentials.read_text().startswith("# nothing here yet\n\n[ops-long-term]\nmfa_serial = ")
    assert secrets_on_disk(station.home, station.secret) == [] and station.secret not in login.stdout


def test_login_and_rotation_with_long_term_store_keyring_move_a_key_still_in_the_file_first(station, keyring_env):
    """aws_mfa_session's and access_key_rotate's long_term_store keyring (the role's mfa_workstation_long_term_store)."""
    original = station.credentials.read_text()
    preview, dummy = station.module("aws_mfa_session", {"profiles": ["prod"], "long_term_store": "keyring", "endpoint_url": station.server.url},
                                    "--check")
    assert preview["moved_to_keyring"] == ["prod-long-term"] and preview["changed"] and station.credentials.read_text() == original
    assert keyring_item(keyring_env, "prod-long-term") is None  # check mode: nothing stored

    login = station.login(profiles="prod", mfa_workstation_long_term_store="keyring", mfa_workstation_token_codes={"prod": CODES["prod"]},
                          mfa_workstation_rotate="never")
    got = task(login, "Get the MFA sessions")
    assert got["moved_to_keyring"] == ["prod-long-term"] and got["profiles"][0]["status"] == "authenticated"
    assert keyring_item(keyring_env, "prod-long-term") == {"aws_access_key_id": station.key, "aws_secret_access_key": station.secret}
    assert station.section("prod-long-term") == {"mfa_serial": MFA_SERIAL, "awssec_long_term_store": "keyring"}

    # dev's key (the same user's) is still in the file: its rotation, with prod's MFA session, moves it into the keyring first.
    result, dummy = station.module("access_key_rotate", {"workstation_profile": "dev", "session_profile": "prod", "long_term_store": "keyring",
                                                         "force": True, "endpoint_url": station.server.url})
    assert result["moved_to_keyring"] == ["dev-long-term"] and result["rotated"]
    held = keyring_item(keyring_env, "dev-long-term")
    assert held["aws_access_key_id"] == result["new_access_key_id"] and station.section("dev-long-term") == {
        "awssec_long_term_store": "keyring"}
    assert keyring_item(keyring_env, result["backup_section"]) == {"aws_access_key_id": station.key, "aws_secret_access_key": station.secret}
    assert secrets_on_disk(station.home, station.secret, held["aws_secret_access_key"]) == []


def test_without_a_keyring_backend_every_keyring_option_fails_before_any_change(station, tmp_path):
    env = {k: v for k, v in station.env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-bus"  # no Secret Service there
    original = station.credentials.read_bytes()
    for arguments in ({"name": "prod-long-term", "state": "migrated"},
                      {"name": "ops-long-term", "long_term_store": "keyring",
                       "values": {"aws_access_key_id": "AKIANOBACKEND0000001", "aws_secret_access_key": "no-backend-secret-0001"}}):
        process = module(env, "aws_profile", arguments, check=False)
        assert process.returncode != 0
        said = " ".join(process.stdout.split())
        assert "no usable keyring backend (the keyring library chose keyring.backends.fail.Keyring)" in said, said
        assert "Nothing was written" in said
        assert station.credentials.read_bytes() == original
    # Sessions through credential_process, and keys moved into the keyring at the login or the rotation: refused before any call.
    station.server.reset_counts()
    for name, arguments in (("aws_mfa_session", {"profiles": ["dev"], "token_code": CODES["dev"]}), ("access_key_rotate", {"workstation_profile": "dev"})):
        process = module(env, name, dict(arguments, long_term_store="keyring", endpoint_url=station.server.url), check=False)
        said = " ".join(process.stdout.split())
        assert process.returncode != 0 and "long_term_store keyring: no usable keyring backend" in said, said
        assert station.server.requests == 0 and station.credentials.read_bytes() == original
    process = module(env, "aws_mfa_session", {"profiles": ["dev"], "token_code": CODES["dev"], "session_store": "credential_process",
                                              "endpoint_url": station.server.url}, check=False)
    assert process.returncode != 0 and "session_store credential_process: no usable keyring backend" in " ".join(process.stdout.split())
    assert station.server.requests == 0 and station.credentials.read_bytes() == original and not station.config.read_text().count("credential_process")
    # A profile whose key is in the keyring: the login names the keyring it cannot read, and writes nothing.
    marked = original.decode().replace(f"aws_access_key_id = {station.key}\naws_secret_access_key = {station.secret}\n",
                                       "awssec_long_term_store = keyring\n", 1)
    station.credentials.write_text(marked)
    login = station.playbook("mfa_login", profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never",
                             check=False, callback=None)
    assert login.returncode != 0
    assert "keeps its key in the keyring (awssec_long_term_store = keyring), which cannot be read" in " ".join(login.stdout.split())
    assert station.credentials.read_text() == marked
    # Its rotation: refused before any call, naming the backend.
    station.server.reset_counts()
    rotation = module(env, "access_key_rotate", {"workstation_profile": "prod", "endpoint_url": station.server.url}, check=False)
    said = " ".join(rotation.stdout.split())
    assert rotation.returncode != 0 and "keeps its key in the keyring, which cannot be read: no usable keyring backend" in said, said
    assert station.server.requests == 0 and station.credentials.read_text() == marked
    assert not station.credentials.with_name("credentials.deactivated").exists()


# --- rotation of a key kept in the keyring ----------------------------------------------------------

def rotate(station, check=True, **arguments):
    result, dummy = station.module("access_key_rotate", {"workstation_profile": "prod", "endpoint_url": station.server.url, **arguments}, check=check)
    return result


def keyring_key_works(station, env):
    """The keyring's key of prod is an active key of the user, and STS answers as that user with it; at most two keys."""
    import boto3

    held = keyring_item(env, "prod-long-term")
    sts = boto3.client("sts", endpoint_url=station.server.url, region_name="us-east-1", aws_access_key_id=held["aws_access_key_id"],
                       aws_secret_access_key=held["aws_secret_access_key"])
    assert len(station.keys()) <= 2
    return station.keys().get(held["aws_access_key_id"]) == "Active" and sts.get_caller_identity()["Arn"].endswith(":user/moto")


@pytest.fixture
def in_keyring(station, keyring_env):
    """prod's key migrated into the keyring, a session got with it, the key 400 days old (due)."""
    from tests.integration.workstation import age_key

    # As a migration leaves them (the migration itself is the first test's): both profiles hold the user's one key.
    code = ("import json, keyring, sys; [keyring.set_password(sys.argv[1], s, json.dumps({'aws_access_key_id': sys.argv[2], "
            "'aws_secret_access_key': sys.argv[3]})) for s in ('prod-long-term', 'dev-long-term')]")
    subprocess.run([sys.executable, "-c", code, SERVICE, station.key, station.secret], env=keyring_env, check=True)
    keys = f"aws_access_key_id = {station.key}\naws_secret_access_key = {station.secret}\n"
    station.credentials.write_text(station.credentials.read_text().replace(keys, "awssec_long_term_store = keyring\n").replace(
        keys.replace(" = ", "="), "awssec_long_term_store = keyring\n"))
    assert secrets_on_disk(station.home, station.secret) == []
    station.module("aws_mfa_session", {"profiles": ["prod"], "token_code": CODES["prod"], "endpoint_url": station.server.url})
    age_key(station.key, 400)
    return station


def test_rotation_puts_the_new_key_in_the_keyring_and_backs_the_old_one_up_there(in_keyring, keyring_env):
    station = in_keyring
    result = rotate(station, check=False)
    new_id = result["new_access_key_id"]
    assert result["rotated"] and [s["step"] for s in result["steps"]] == ["create", "write", "verify", "backup", "retire_old"]
    assert keyring_item(keyring_env, "prod-long-term")["aws_access_key_id"] == new_id and keyring_key_works(station, keyring_env)
    assert result["key_in_file"] == new_id and station.keys() == {station.key: "Inactive", new_id: "Active"}
    backup = station.credentials.with_name("credentials.deactivated")
    saved = station.section(result["backup_section"], backup)
    assert saved["aws_access_key_id"] == station.key and saved["awssec_long_term_store"] == "keyring" and "aws_secret_access_key" not in saved
    assert keyring_item(keyring_env, result["backup_section"]) == {"aws_access_key_id": station.key, "aws_secret_access_key": station.secret}
    new_secret = keyring_item(keyring_env, "prod-long-term")["aws_secret_access_key"]
    assert secrets_on_disk(station.home, station.secret, new_secret) == []

    # Again: the first backed-up key is deleted to make room, and its secret leaves the keyring with its backup section.
    again = rotate(station, check=False, force=True)
    assert again["rotated"] and station.key not in station.keys()
    assert station.section(result["backup_section"], backup) is None and keyring_item(keyring_env, result["backup_section"]) is None
    assert keyring_key_works(station, keyring_env)


def fail_with(code, message):
    return lambda params: (400, code, message)


@pytest.mark.parametrize("fault", ["create", "answer_lost", "write", "verify", "retire_old", "backup"])
def test_a_failed_rotation_of_a_key_in_the_keyring_never_loses_a_key(in_keyring, keyring_env, fault):
    station = in_keyring
    if fault == "create":
        station.server.before("CreateAccessKey", fail_with("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2"))
    elif fault == "answer_lost":  # carried out, its answer lost: the key made without an answer is found and deleted
        station.server.after("CreateAccessKey", lambda params: (500, "InternalFailure", "the answer was lost"))
    elif fault == "write":  # the keyring is locked while the key is made: the new key cannot be stored
        station.server.before("CreateAccessKey", lambda params: lock(keyring_env))
    elif fault == "verify":
        created = []
        station.server.before("CreateAccessKey", lambda params: created.append(True))
        station.server.before("GetCallerIdentity", lambda params: fail_with("InvalidClientTokenId", "not yet")(params) if created else None)
    elif fault == "retire_old":
        station.server.before("UpdateAccessKey", fail_with("AccessDenied", "not allowed"))
    else:
        station.credentials.with_name("credentials.deactivated.lock").mkdir()
    result = rotate(station, check=False, verify_timeout=3)
    station.server.clear_hooks()
    assert result.get("failed_step") == ("create" if fault == "answer_lost" else fault), result
    with unlocked_again(keyring_env) if fault == "write" else contextlib.nullcontext():
        held = keyring_item(keyring_env, "prod-long-term")
        assert keyring_key_works(station, keyring_env), result["state"]
        if fault in ("create", "answer_lost", "write", "verify"):
            assert held == {"aws_access_key_id": station.key, "aws_secret_access_key": station.secret}
            assert station.keys() == {station.key: "Active"}  # a new key that was made is deleted again
        else:  # the new key is in use; the old one is still active (not deactivated without its backup)
            assert held["aws_access_key_id"] == result["new_access_key_id"] and station.keys()[station.key] == "Active"
            assert (result["key_in_file"], result["other_active_key"]) == (result["new_access_key_id"], station.key)
    if fault == "write":
        assert "is still in use and active; the keyring could not store the new key (the keyring" in result["state"] and "KeyringLocked" in result["state"]
    assert secrets_on_disk(station.home, station.secret) == []


# --- sessions through credential_process --------------------------------------------------------------

def set_keyring_session(env, name, **changes):
    """Change the session the keyring keeps for ``name`` (as time would: an expiry in the past)."""
    code = ("import json, keyring, sys; s = 'awssec.mfa AWS MFA session'; v = json.loads(keyring.get_password(s, sys.argv[1])); "
            "v.update(json.loads(sys.argv[2])); keyring.set_password(s, sys.argv[1], json.dumps(v))")
    subprocess.run([sys.executable, "-c", code, name, json.dumps(changes)], env=env, check=True)


def test_with_credential_process_nothing_secret_is_in_aws_and_the_cli_and_boto3_work_until_the_session_expires(station, keyring_env):
    for section in ("prod-long-term", "dev-long-term"):
        module(keyring_env, "aws_profile", {"name": section, "state": "migrated"})
    station.credentials.write_text(station.credentials.read_text() + "\n[prod]\naws_access_key_id = ASIAOLDSESSION000001\n"
                                   "aws_secret_access_key = old-session-secret-0001\naws_session_token = old-token\n")
    login = station.playbook("mfa_login", profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never",
                             mfa_workstation_session_store="credential_process")
    assert task(login, "Get the MFA sessions")["profiles"][0]["status"] == "authenticated"
    session = keyring_item(keyring_env, "prod", "awssec.mfa AWS MFA session")
    assert session["aws_access_key_id"] and session["aws_session_token"] and session["expiration"]
    assert station.section("prod") is None  # the old session is gone from the credentials file: it would win
    assert station.section("profile prod", station.config)["credential_process"] == "awssec-credentials prod"
    assert secrets_on_disk(station.home, station.secret, session["aws_secret_access_key"], session["aws_session_token"]) == []

    env = {k: v for k, v in keyring_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")}
    cli = run([str(BIN / "aws"), "sts", "get-caller-identity", "--profile", "prod", "--endpoint-url", station.server.url], env)
    assert json.loads(cli.stdout)["Arn"].endswith(":123456789012:user/moto")
    code = ("import boto3, sys; s = boto3.Session(profile_name='prod'); c = s.get_credentials().get_frozen_credentials(); "
            "print(c.access_key, s.client('sts', endpoint_url=sys.argv[1], region_name='us-east-1').get_caller_identity()['Account'])")
    boto = subprocess.run([sys.executable, "-c", code, station.server.url], env=env, capture_output=True, text=True, check=True)
    assert boto.stdout.split() == [session["aws_access_key_id"], "123456789012"]
    again = station.playbook("mfa_login", profiles="prod", mfa_workstation_rotate="never", mfa_workstation_session_store="credential_process")
    assert task(again, "Get the MFA sessions")["profiles"][0]["status"] == "valid"  # still valid: no code asked, no call

    set_keyring_session(keyring_env, "prod", expiration="2020-01-01 00:00:00")
    expired = run([str(BIN / "aws"), "sts", "get-caller-identity", "--profile", "prod", "--endpoint-url", station.server.url], env, check=False)
    said = " ".join((expired.stdout + expired.stderr).split())
    assert expired.returncode != 0 and "the MFA session of profile 'prod' expired at 2020-01-01T00:00:00+00:00" in said, said
    assert "ansible-playbook awssec.mfa.mfa_login -e profiles=prod" in said
    direct = subprocess.run([str(BIN / "awssec-credentials"), "prod"], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=60, check=False)
    assert direct.returncode == 1 and direct.stdout == "" and "expired" in direct.stderr
