# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Long-term keys in the OS keyring (keystore.py, long_term_store keyring): what the files keep, what the keyring keeps,
and that nothing is written when either refuses. A plain in-memory keyring; tests/integration/test_keyring.py runs a real
Secret Service."""

from datetime import datetime, timezone

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles, keystore, workstation as ws
from ansible_collections.awssec.mfa.plugins.module_utils.rotate import RotateOptions, rotate_profile

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
TEXT = "# mine\n[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = s3cret/prod\nmfa_serial = arn:aws:iam::1:mfa/p\n\n[other]\nregion = x\n"


class Memory:
    """A keyring backend's interface, in memory; ``refuse`` makes every write fail."""
    priority = 1

    def __init__(self, refuse=False):
        self.items, self.refuse = {}, refuse

    def set_password(self, service, user, secret):
        if self.refuse:
            raise RuntimeError("locked")
        self.items[(service, user)] = secret

    def get_password(self, service, user):
        return self.items.get((service, user))


def test_migration_moves_the_key_and_keeps_every_other_byte(tmp_path):
    path, store = tmp_path / "credentials", Memory()
    path.write_text(TEXT)
    planned = awsfiles.set_profile(str(path), "credentials", "prod-long-term", {}, [], "migrated", True, store=store)
    assert planned["changed"] and store.items == {} and path.read_text() == TEXT  # check mode: nothing kept, nothing written
    done = awsfiles.set_profile(str(path), "credentials", "prod-long-term", {}, [], "migrated", False, store=store)
    assert done["changed"] and done["keyring"] == {"service": keystore.SERVICE, "username": "prod-long-term", "changed": True}
    assert keystore.load(store, "prod-long-term") == ("AKIAPROD", "s3cret/prod")
    assert path.read_text() == "# mine\n[prod-long-term]\nmfa_serial = arn:aws:iam::1:mfa/p\nawssec_long_term_store = keyring\n\n[other]\nregion = x\n"
    again = awsfiles.set_profile(str(path), "credentials", "prod-long-term", {}, [], "migrated", False, store=store)
    assert not again["changed"] and "s3cret" not in str(done) + str(again)


def test_a_keyring_that_refuses_or_a_profile_without_a_key_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "credentials"
    path.write_text(TEXT)
    with pytest.raises(keystore.KeystoreError, match=r"refused to keep the key of \[prod-long-term\]: RuntimeError"):
        awsfiles.set_profile(str(path), "credentials", "prod-long-term", {}, [], "migrated", False, store=Memory(refuse=True))
    with pytest.raises(ValueError, match=r"\[other\] of .* has no aws_access_key_id and aws_secret_access_key to keep in the keyring"):
        awsfiles.set_profile(str(path), "credentials", "other", {}, [], "migrated", False, store=Memory())
    with pytest.raises(ValueError, match="give aws_access_key_id and aws_secret_access_key together"):
        awsfiles.set_profile(str(path), "credentials", "new-long-term", {"aws_access_key_id": "AKIA1"}, [], "present", False, "keyring", Memory())
    with pytest.raises(ValueError, match="keep a long-term key of the credentials file"):
        awsfiles.set_profile(str(tmp_path / "config"), "config", "new", {}, [], "migrated", False, store=Memory())
    assert path.read_text() == TEXT and not (tmp_path / "config").exists()


def test_no_usable_backend_is_named(monkeypatch):
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", fail.Keyring)
    with pytest.raises(keystore.KeystoreError, match=r"no usable keyring backend \(the keyring library chose keyring.backends.fail.Keyring\)"):
        keystore.backend()


def test_discover_reads_a_marked_profiles_key_from_the_keyring_and_rotation_without_a_keyring_changes_nothing(tmp_path, monkeypatch):
    text = "[prod-long-term]\nmfa_serial = arn:aws:iam::1:mfa/p\nawssec_long_term_store = keyring\n"
    files = ws.Files("/c", "/nowhere/config", awsfiles.IniFile(text, "/c"), awsfiles.IniFile("", "/nowhere/config"))
    asked = []
    found = ws.discover(files, NOW, keys_of=lambda section: asked.append(section) or ("AKIAKR", "kept"))
    assert asked == ["prod-long-term"] and found["prod"].access_key_id == "AKIAKR" and found["prod"].secret_access_key == "kept"

    def missing(section):
        raise ws.WorkstationError(f"[{section}] keeps its key in the keyring")
    with pytest.raises(ws.WorkstationError, match=r"\[prod-long-term\] keeps its key in the keyring"):
        ws.discover(files, NOW, keys_of=missing)
    path = tmp_path / "credentials"
    path.write_text(text + "[prod]\naws_access_key_id = ASIA\naws_secret_access_key = x\naws_session_token = t\n")
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", fail.Keyring)
    with pytest.raises(ws.WorkstationError, match=r"keeps its key in the keyring, which cannot be read: .*no usable keyring backend"):
        rotate_profile("prod", RotateOptions(), False, NOW, credentials_path=str(path))
    assert path.read_text().startswith(text)


def test_credential_process_gives_a_valid_session_and_says_how_to_renew_any_other():
    from awssec.tools.credentials import process_output

    session = {"aws_access_key_id": "ASIA1", "aws_secret_access_key": "s", "aws_session_token": "t", "expiration": "2026-11-23 20:00:00"}
    assert process_output("prod", session, NOW) == {"Version": 1, "AccessKeyId": "ASIA1", "SecretAccessKey": "s", "SessionToken": "t",
                                                    "Expiration": "2026-11-23T20:00:00Z"}
    with pytest.raises(ValueError, match=r"the MFA session of profile 'prod' expired at 2026-11-23T12:00:00\+00:00; get a new one: "
                                         r"ansible-playbook awssec.mfa.mfa_login -e profiles=prod"):
        process_output("prod", dict(session, expiration="2026-11-23 12:00:00"), NOW)
    with pytest.raises(ValueError, match="no MFA session of profile 'prod' in the keyring"):
        process_output("prod", None, NOW)
    assert keystore.credential_process_line("team a") == "awssec-credentials 'team a'"


def test_a_profile_served_by_credential_process_takes_its_session_state_from_the_keyring():
    from ansible_collections.awssec.mfa.plugins.module_utils.login import drop_session

    credentials = "[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = s3cret\n"
    config = "[profile prod]\nregion = eu-west-1\ncredential_process = awssec-credentials prod\n"
    files = ws.Files("/c", "/g", awsfiles.IniFile(credentials, "/c"), awsfiles.IniFile(config, "/g"))
    valid = {"aws_session_token": "t", "expiration": "2026-11-23 20:00:00"}
    assert ws.discover(files, NOW, sessions_of=lambda name: valid)["prod"].session == "valid"
    assert ws.discover(files, NOW, sessions_of=lambda name: dict(valid, expiration="2026-11-23 11:00:00"))["prod"].session == "expired"
    assert ws.discover(files, NOW, sessions_of=lambda name: None)["prod"].session == "never"
    ini = awsfiles.IniFile("[prod]\nregion = x\naws_access_key_id = A\naws_session_token = t\n[dev]\naws_session_token = t\n", "/c")
    assert drop_session(ini, "prod") and drop_session(ini, "dev") and not drop_session(ini, "none")
    assert ini.get("prod") == {"region": "x"} and ini.get("dev") is None


def test_long_term_store_keyring_moves_only_the_plain_text_keys_of_the_selected_sections_and_a_refusal_changes_nothing(tmp_path, monkeypatch):
    from ansible_collections.awssec.mfa.plugins.module_utils import login as lg

    path = tmp_path / "credentials"
    text = TEXT + "[dev-long-term]\nawssec_long_term_store = keyring\n[prod]\naws_access_key_id = ASIA1\naws_secret_access_key = x\naws_session_token = t\n"
    path.write_text(text)
    files = lg.read_files(str(path), str(tmp_path / "config"), None)
    store = Memory()
    monkeypatch.setattr(keystore, "backend", lambda: store)
    sections = ["prod-long-term", "dev-long-term", "prod", "prod-long-term"]  # one moved once; one already there; a session
    assert lg.move_to_keyring(files, sections, check_mode=True) == ["prod-long-term"] and store.items == {} and path.read_text() == text
    assert lg.move_to_keyring(files, sections, check_mode=False) == ["prod-long-term"]
    assert keystore.load(store, "prod-long-term") == ("AKIAPROD", "s3cret/prod") and "s3cret/prod" not in path.read_text()
    assert lg.move_to_keyring(lg.read_files(str(path), str(tmp_path / "config"), None), sections, check_mode=False) == []  # done once

    path.write_text(text)
    monkeypatch.setattr(keystore, "backend", lambda: Memory(refuse=True))
    with pytest.raises(ws.WorkstationError, match=r"long_term_store keyring: \[prod-long-term\] could not be moved into the keyring"):
        lg.move_to_keyring(lg.read_files(str(path), str(tmp_path / "config"), None), sections, check_mode=False)
    assert path.read_text() == text


def test_a_rotation_refused_for_want_of_a_session_moves_no_key_into_the_keyring(tmp_path, monkeypatch):
    path = tmp_path / "credentials"
    path.write_text(TEXT)
    store = Memory()
    monkeypatch.setattr(keystore, "backend", lambda: store)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    with pytest.raises(ws.WorkstationError, match=r"no valid MFA session in \[prod\]"):
        rotate_profile("prod", RotateOptions(force=True), False, NOW, credentials_path=str(path), long_term_store="keyring")
    assert path.read_text() == TEXT and store.items == {}


def test_a_login_refused_for_its_input_moves_no_key_into_the_keyring(tmp_path, monkeypatch):
    from ansible_collections.awssec.mfa.plugins.modules.aws_mfa_session import ARGUMENT_SPEC
    from ansible_collections.awssec.mfa.plugins.module_utils import login as lg

    path = tmp_path / "credentials"
    path.write_text(TEXT)
    store = Memory()
    monkeypatch.setattr(keystore, "backend", lambda: store)
    params = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
    params.update(profiles=["prod"], token_code="12345", long_term_store="keyring", credentials_file=str(path), config_file=str(tmp_path / "config"))
    with pytest.raises(ws.WorkstationError, match="must be 6 digits"):
        lg.login_from_params(params, False, None)
    assert path.read_text() == TEXT and store.items == {}
