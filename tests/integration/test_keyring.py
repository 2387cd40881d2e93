# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Long-term keys in the OS keyring (long_term_store keyring): a real Secret Service (gnome-keyring-daemon on a D-Bus
session bus of the test's own), the real modules, the real aws CLI on the sessions got with the keys read back."""

import json
import subprocess
import sys

import pytest

from tests.integration.conftest import BIN, run
from tests.integration.workstation import CODES, MFA_SERIAL, task
from tests.support.secret_service import secret_service

SERVICE = "awssec.mfa AWS long-term access key"


@pytest.fixture
def keyring_env(station, tmp_path):
    """The workstation's environment, leading to a Secret Service of its own."""
    with secret_service(tmp_path / "secret-service") as variables:
        station.env = dict(station.env, **variables)  # the playbooks it runs find the Secret Service too
        yield station.env


def keyring_item(env, section):
    """What the Secret Service keeps for ``section``, read with the keyring library in another process."""
    code = f"import keyring; print(keyring.get_password({SERVICE!r}, {section!r}) or '')"
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
    # A profile whose key is in the keyring: the login names the keyring it cannot read, and writes nothing.
    marked = original.decode().replace(f"aws_access_key_id = {station.key}\naws_secret_access_key = {station.secret}\n",
                                       "awssec_long_term_store = keyring\n", 1)
    station.credentials.write_text(marked)
    login = station.playbook("mfa_login", profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]}, mfa_workstation_rotate="never",
                             check=False, callback=None)
    assert login.returncode != 0
    assert "keeps its key in the keyring (awssec_long_term_store = keyring), which cannot be read" in " ".join(login.stdout.split())
    assert station.credentials.read_text() == marked
