# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""aws-mfa 0.0.12 (broamski) next to this collection, on the same files and the same moto server: a session written by
either is valid for the other, so neither asks for a code again (or, in aws-mfa's case, rewrites the whole file)."""

import subprocess

import pytest

from tests.integration.conftest import BIN
from tests.integration.workstation import CODES, MFA_SERIAL, task


def _aws_mfa(station, code=None, tz="UTC"):
    """aws-mfa for profile prod (its long-term section is [prod-long-term], as here); ``code`` answers its prompt."""
    return subprocess.run([str(BIN / "aws-mfa"), "--profile", "prod", "--device", MFA_SERIAL, "--log-level", "INFO"],
                          env=dict(station.env, TZ=tz), input=code + "\n" if code else "", capture_output=True, text=True,
                          timeout=120, check=False)


def test_a_session_written_here_is_valid_for_aws_mfa_which_leaves_the_file_alone(station):
    station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    before = station.credentials.read_bytes()
    station.server.reset_counts()
    result = _aws_mfa(station)  # no code to give: it must not ask
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Your credentials are still valid" in result.stdout and "Enter AWS MFA code" not in result.stdout
    assert station.credentials.read_bytes() == before and b"# My AWS keys - managed by hand" in before  # comments survive
    assert station.server.requests == 0


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_a_session_written_by_aws_mfa_is_valid_here_in_any_time_zone(station, tz):
    written = _aws_mfa(station, code="135790", tz=tz)
    assert written.returncode == 0 and "Success!" in written.stdout, written.stdout + written.stderr
    assert station.section("prod")["assumed_role"] == "False"
    station.server.reset_counts()
    process = station.login(profiles="prod")  # no code given: a valid session needs none
    profile = task(process, "Get the MFA sessions")["profiles"][0]
    assert profile["status"] == "valid" and 11 * 3600 < profile["remaining_seconds"] <= 12 * 3600
    assert station.server.requests == 0


def test_a_refresh_here_replaces_an_aws_mfa_role_session_so_both_agree(station):
    station.write()
    with station.credentials.open("a") as f:  # what aws-mfa leaves after --assume-role
        f.write("\n[prod]\naws_access_key_id = ASIAROLE\naws_secret_access_key = rolesecret\naws_session_token = roletoken\n"
                "aws_security_token = roletoken\nexpiration = 2000-01-01 00:00:00\nassumed_role = True\n"
                "assumed_role_arn = arn:aws:iam::123456789012:role/admin\n")
    station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    section = station.section("prod")
    assert section["assumed_role"] == "False" and "assumed_role_arn" not in section
    station.server.reset_counts()
    result = _aws_mfa(station)
    assert result.returncode == 0 and "Your credentials are still valid" in result.stdout, result.stdout + result.stderr
    assert station.server.requests == 0


def test_the_session_inherits_the_long_term_region_so_the_aws_cli_needs_none_elsewhere(station):
    station.write(config="[profile prod-long-term]\nregion = eu-west-1\noutput = text\n")
    station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    assert station.section("profile prod", station.config) == {"region": "eu-west-1", "output": "text"}
    env = {k: v for k, v in station.env.items() if not k.startswith("AWS_") or k in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")}
    cli = subprocess.run([str(BIN / "aws"), "sts", "get-caller-identity", "--profile", "prod", "--endpoint-url", station.server.url,
                          "--query", "Account"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert cli.returncode == 0 and cli.stdout.strip() == "123456789012", cli.stdout + cli.stderr  # output = text: no quotes
