# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""access_key_rotate and the rotate_keys playbook, with a temporary HOME, against a moto server.

After every run, failed or not, the credentials file must hold a key that works and IAM at most two keys.
"""

import collections
import json
import re
import shutil
import stat

import pytest

from tests.integration.conftest import BIN, run
from tests.integration.workstation import CODES, age_key, task

PROFILE = "prod-long-term"


@pytest.fixture
def logged_in(station):
    """prod has an MFA session, from aws_mfa_session run ad hoc (the login playbook, a run of the whole role, is the
    first test's own step); its key is 400 days old (due)."""
    station.module("aws_mfa_session", {"profiles": ["prod"], "token_code": CODES["prod"], "endpoint_url": station.server.url})
    age_key(station.key, 400)
    return station


def rotate(station, check=True, **arguments):
    result, dummy = station.module("access_key_rotate", {"workstation_profile": "prod", "endpoint_url": station.server.url, **arguments}, check=check)
    return result


def assert_safe(station):
    assert station.key_works(), "the credentials file must hold a working key"
    assert len(station.keys()) <= 2


@pytest.mark.both_ends("module:access_key_rotate", "playbook:rotate_keys.yml", "role:mfa_workstation", "playbook:mfa_login.yml", "module:aws_mfa_session")
def test_rotation_keeps_the_profile_and_backs_the_old_key_up(station):
    station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never")
    age_key(station.key, 400)
    before = station.credentials.read_text()
    process = station.playbook("rotate_keys", profiles="prod")
    result = task(process, "Rotate the access keys")["results"][0]
    assert result["rotated"] is True and result["old_access_key_id"] == station.key
    new_id = result["new_access_key_id"]
    assert [s["step"] for s in result["steps"]] == ["create", "write", "verify", "backup", "retire_old"]  # backed up while active

    text = station.credentials.read_text()
    assert station.stored_key() == (new_id, station.section(PROFILE)["aws_secret_access_key"])
    assert "mfa_serial = arn:aws:iam::123456789012:mfa/moto" in text and text.startswith("# My AWS keys - managed by hand\n[prod-long-term]\n")
    assert text.split("; dev keys", 1)[1] == before.split("; dev keys", 1)[1]  # everything after the profile is as it was
    assert station.keys() == {station.key: "Inactive", new_id: "Active"}

    backup = station.credentials.with_name("credentials.deactivated")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    section = result["backup_section"]
    assert re.fullmatch(r"prod-long-term_deactivated_\d{8}_\d{6}", section)
    saved = station.section(section, backup)
    assert saved["aws_access_key_id"] == station.key and saved["aws_secret_access_key"] == station.secret
    assert saved["original_profile"] == PROFILE and saved["deactivated_at"].endswith(" UTC")

    env = {k: v for k, v in station.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")}
    cli = run([str(BIN / "aws"), "sts", "get-caller-identity", "--profile", PROFILE, "--endpoint-url", station.server.url], env)
    assert json.loads(cli.stdout)["Arn"] == "arn:aws:iam::123456789012:user/moto"
    printed = "\n".join(task(process, "Print the rotation")["msg"])
    assert "✓ Key rotation complete for 'prod'!" in printed and f"ℹ New key: {new_id}" in printed
    new_secret = station.section(PROFILE)["aws_secret_access_key"]
    assert station.secret not in process.stdout and new_secret not in process.stdout


def test_the_rotate_entry_points_argument_spec_refuses_a_bad_value_before_anything(logged_in):
    station = logged_in
    before = station.credentials.read_text()
    process = station.playbook("rotate_keys", check=False, profiles="prod", old_key="shred")
    assert process.returncode != 0
    assert "mfa_workstation_old_key" in process.stdout and "shred" in process.stdout  # the role's variable is named
    assert station.credentials.read_text() == before and station.keys() == {station.key: "Active"}


def test_a_young_key_is_left_alone_unless_forced(logged_in):
    station = logged_in
    age_key(station.key, 100)
    result = rotate(station)
    assert result["changed"] is False and result["rotated"] is False and result["key_age_days"] == 100
    assert station.stored_key()[0] == station.key and station.keys() == {station.key: "Active"}
    result = rotate(station, force=True)
    assert result["rotated"] is True and station.stored_key()[0] == result["new_access_key_id"]


def test_check_mode_lists_the_steps_and_changes_nothing(logged_in):
    station = logged_in
    files = {p.name: p.read_bytes() for p in station.credentials.parent.iterdir() if p.is_file()}
    keys = station.keys()
    result, process = station.module("access_key_rotate", {"workstation_profile": "prod"}, "--check", "--diff")
    assert result["changed"] is True and result["rotated"] is False
    assert {s["result"] for s in result["steps"]} == {"would do"}
    assert [s["step"] for s in result["steps"]] == ["create", "write", "verify", "backup", "retire_old"]  # backed up while active
    assert {p.name: p.read_bytes() for p in station.credentials.parent.iterdir() if p.is_file()} == files
    assert station.keys() == keys


def test_two_active_keys_with_extra_keys_keep_fail_before_any_change(logged_in):
    station = logged_in
    extra = station.iam.create_access_key(UserName="moto")["AccessKey"]["AccessKeyId"]
    before = station.credentials.read_bytes()
    result = rotate(station, check=False)
    assert result["failed"] is True and "already has two access keys" in result["msg"] and "Nothing was changed" in result["msg"]
    assert station.keys() == {station.key: "Active", extra: "Active"} and station.credentials.read_bytes() == before

    result = rotate(station, extra_keys="delete")
    assert result["steps"][0] == {"step": "make_room", "result": "done", "detail": f"deleted {extra} (extra_keys=delete)"}
    assert station.keys() == {station.key: "Inactive", result["new_access_key_id"]: "Active"}


def test_without_rotation_extra_keys_deactivates_the_second_key(logged_in):
    station = logged_in
    age_key(station.key, 10)
    extra = station.iam.create_access_key(UserName="moto")["AccessKey"]["AccessKeyId"]
    result = rotate(station, extra_keys="deactivate")
    assert result["rotated"] is False and result["changed"] is True
    assert station.keys() == {station.key: "Active", extra: "Inactive"}


def test_rotating_twice_deletes_the_first_backed_up_key_to_make_room(logged_in):
    station = logged_in
    first = rotate(station, force=True)
    second = rotate(station, force=True)
    assert second["steps"][0]["step"] == "make_room" and station.key in second["steps"][0]["detail"]
    assert second["steps"][1] == {"step": "forget_backup", "result": "done", "detail": f"removed the backup of {station.key}, deleted in IAM"}
    assert station.keys() == {first["new_access_key_id"]: "Inactive", second["new_access_key_id"]: "Active"}
    assert_safe(station)
    # The first backup held the secret of a key that no longer exists: it is gone; the second one stays.
    backup = station.credentials.with_name("credentials.deactivated").read_text()
    assert backup.count("_deactivated_") == 1 and station.secret not in backup and first["new_access_key_id"] in backup


def test_login_then_rotation_sends_the_code_once(station):
    sent = collections.Counter()
    station.server.before("GetSessionToken", lambda params: sent.update([params.get("TokenCode")]))
    age_key(station.key, 400)
    process = station.login(profiles="prod", mfa_workstation_token_codes=CODES, mfa_workstation_rotate="always")
    rotation = task(process, "Rotate the access keys")["results"][0]
    assert rotation["item"] == "prod" and rotation["rotated"] is True
    assert sent == collections.Counter({CODES["prod"]: 1})  # the rotation used the session, and sent no code
    assert_safe(station)


# --- a fault at each step: the file still holds a working key, IAM at most two keys, and the result says what was left ---

def fail_with(code, message):
    return lambda params: (400, code, message)


def test_fault_create(logged_in):
    station = logged_in
    station.server.before("CreateAccessKey", fail_with("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2"))
    result = rotate(station, check=False)
    assert result["failed_step"] == "create" and "no new key was created" in result["state"]
    assert station.stored_key()[0] == station.key and station.keys() == {station.key: "Active"}
    assert_safe(station)


def test_fault_create_answer_lost(logged_in):
    """CreateAccessKey is carried out but its answer is lost (a 500): botocore would send it again and make a second key."""
    station = logged_in
    station.server.after("CreateAccessKey", lambda params: (500, "InternalFailure", "the answer was lost"))
    station.server.reset_counts()
    result = rotate(station, check=False)
    assert station.server.actions["CreateAccessKey"] == 1
    assert result["failed_step"] == "create" and "no new key was created" not in result["state"]
    assert result["state"] == f"{station.key} is still in use and active; the key created without an answer was deleted"
    assert [s["step"] for s in result["steps"]] == ["create", "check", "undo"]
    assert station.keys() == {station.key: "Active"} and result["key_in_file"] == station.key and result["next_command"] is None
    assert_safe(station)


def test_fault_file_cannot_be_written(logged_in):
    station = logged_in
    lock = station.credentials.with_name("credentials.lock")

    def sabotage(params):
        lock.unlink(missing_ok=True)
        lock.mkdir()  # the lock cannot be opened, so the file cannot be written
    station.server.before("CreateAccessKey", sabotage)
    try:
        result = rotate(station, check=False)
    finally:
        shutil.rmtree(lock, ignore_errors=True)
    assert result["failed_step"] == "write"
    assert [s["step"] for s in result["steps"]][-1] == "undo" and result["steps"][-1]["result"] == "done"
    assert station.keys() == {station.key: "Active"}  # the new key, never used, was deleted
    assert_safe(station)


def test_fault_verification_times_out(logged_in):
    station = logged_in
    created = []

    def after_create(params):
        created.append(True)
    station.server.before("CreateAccessKey", after_create)
    station.server.before("GetCallerIdentity", lambda params: fail_with("InvalidClientTokenId", "not yet")(params) if created else None)
    result = rotate(station, check=False, verify_timeout=3)
    assert result["failed_step"] == "verify" and "did not work within 3 s" in next(s["detail"] for s in result["steps"] if s["step"] == "verify")
    assert "the old key is back" in " ".join(s["detail"] for s in result["steps"])
    station.server.clear_hooks()
    assert station.stored_key() == (station.key, station.secret)
    assert station.keys() == {station.key: "Active"}
    assert_safe(station)


def test_fault_deactivation(logged_in):
    station = logged_in
    station.server.before("UpdateAccessKey", fail_with("AccessDenied", "not allowed"))
    result = rotate(station, check=False)
    new_id = result["new_access_key_id"]
    assert result["failed_step"] == "retire_old" and f"the old key {station.key} is still ACTIVE" in result["state"]
    assert station.stored_key()[0] == new_id and station.keys() == {station.key: "Active", new_id: "Active"}
    assert (result["key_in_file"], result["other_active_key"]) == (new_id, station.key)
    assert result["next_command"] == "ansible-playbook awssec.mfa.rotate_keys -e profiles=prod -e extra_keys=delete"
    assert_safe(station)


def test_fault_backup_cannot_be_written(logged_in):
    station = logged_in
    lock = station.credentials.with_name("credentials.deactivated.lock")
    lock.mkdir()
    try:
        result = rotate(station, check=False)
    finally:
        shutil.rmtree(lock)
    new_id = result["new_access_key_id"]
    assert result["failed_step"] == "backup" and "still ACTIVE: its backup could not be written, so it was not deactivated" in result["state"]
    # Backed up before deactivating: the old key stays active rather than inactive with its secret lost.
    assert station.stored_key()[0] == new_id and station.keys() == {station.key: "Active", new_id: "Active"}
    assert [s["step"] for s in result["steps"]][-1] == "backup"
    assert (result["key_in_file"], result["other_active_key"]) == (new_id, station.key) and "extra_keys=delete" in result["state"]
    # The command the result offers (the playbook, as a user would run it) leaves one key, the file's.
    station.server.clear_hooks()
    station.playbook("rotate_keys", profiles="prod", extra_keys="delete")
    assert station.keys() == {new_id: "Active"} and station.stored_key()[0] == new_id
    assert_safe(station)


DEFAULTS_PLAYBOOK = """
- name: Rotate the prod key in a play whose AWS modules default to another profile
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  module_defaults:  # as group/aws would (amazon.aws 8 warns of a deprecated action in that group, hence the module's name)
    awssec.mfa.access_key_rotate:
      profile: audit
  tasks:
    - name: Rotate
      awssec.mfa.access_key_rotate:
        workstation_profile: prod
        force: true
        endpoint_url: {url}
"""


def test_the_profile_to_rotate_has_its_own_option_which_module_defaults_for_aws_do_not_set(logged_in, tmp_path):
    station = logged_in
    with station.config.open("a") as config:  # the audit profile the play's AWS modules use
        config.write("[profile audit]\nregion = us-east-1\n")
    playbook = tmp_path / "defaults.yml"
    playbook.write_text(DEFAULTS_PLAYBOOK.format(url=station.server.url))
    run(["ansible-playbook", str(playbook)], station.env)
    assert station.stored_key()[0] != station.key and len(station.keys()) == 2  # [prod-long-term] rotated, not [audit-long-term]


def test_profile_alone_does_not_name_the_profile_to_rotate(logged_in):
    """profile is the AWS connection's (module_defaults may set it for every AWS module), never the workstation profile."""
    station = logged_in
    arguments = {"profile": "prod", "force": True, "endpoint_url": station.server.url}
    process = run(["ansible", "localhost", "-m", "awssec.mfa.access_key_rotate", "-a", json.dumps(arguments)], station.env, check=False)
    assert process.returncode != 0 and "name the workstation profile (workstation_profile)" in process.stdout
    assert station.stored_key()[0] == station.key and len(station.keys()) == 1


ADMIN_PLAYBOOK = """
- name: Rotate a service user's key
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: Rotate
      awssec.mfa.access_key_rotate:
        user_name: svc-backup
        force: true
        endpoint_url: {url}
      register: rotated
      no_log: true

    - name: Store the new key (stands for amazon.aws.secretsmanager_secret)
      ansible.builtin.copy:
        content: "{{{{ rotated.new_access_key_id }}}} {{{{ rotated.secret_access_key }}}}"
        dest: {dest}
        mode: "0600"
      no_log: true
"""


def test_admin_mode_returns_the_secret_only_under_no_log(station, tmp_path):
    old = station.iam.create_user(UserName="svc-backup") and station.iam.create_access_key(UserName="svc-backup")["AccessKey"]
    result, dummy = station.module("access_key_rotate", {"user_name": "svc-backup", "force": True}, check=False)
    assert result["failed"] is True and "set no_log: true on the task" in result["msg"]

    playbook = tmp_path / "admin.yml"
    stored = tmp_path / "stored"
    playbook.write_text(ADMIN_PLAYBOOK.format(url=station.server.url, dest=stored))
    process = run(["ansible-playbook", "-vvv", str(playbook)], station.env)
    new_id, new_secret = stored.read_text().split()
    keys = {k["AccessKeyId"]: k["Status"] for k in station.iam.list_access_keys(UserName="svc-backup")["AccessKeyMetadata"]}
    assert keys == {old["AccessKeyId"]: "Inactive", new_id: "Active"}
    output = process.stdout + process.stderr
    assert new_secret not in output and old["SecretAccessKey"] not in output


def test_no_secret_reaches_the_output_of_the_workstation_playbooks_at_vvv(station):
    """mfa_login and rotate_keys at -vvv: neither the long-term secret, nor the session's, nor the new key's is printed."""
    import configparser

    login = station.login("-vvv", callback=None, profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]},
                          mfa_workstation_rotate="never")
    age_key(station.key, 400)
    rotated = station.playbook("rotate_keys", "-vvv", callback=None, profiles="prod")
    secrets = {station.secret}
    for path in (station.credentials, station.credentials.with_name("credentials.deactivated")):
        parser = configparser.RawConfigParser()
        parser.read(path)
        secrets |= {value for name in parser.sections() for key, value in parser.items(name)
                    if key in ("aws_secret_access_key", "aws_session_token", "aws_security_token")}
    assert len(secrets) >= 3  # the old key's, the session's, the new key's
    output = login.stdout + login.stderr + rotated.stdout + rotated.stderr
    assert "prod" in output and not [secret[:4] for secret in secrets if secret in output]
