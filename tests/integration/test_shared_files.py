# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Credential files as other tools and people leave them: symlinked by a dotfile manager, saved with bare CRs,
read-only, with a killed writer's temporary file beside them. ansible-playbook awssec.mfa.mfa_login edits them;
the real aws CLI reads the result."""

import json
import os
import stat

from tests.integration.conftest import BIN, run
from tests.integration.workstation import CODES


def _cli_identity(station, profile="prod"):
    """The real aws CLI, with the profile's session from the files (not the test server's environment keys)."""
    env = {k: v for k, v in station.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")}
    out = run([str(BIN / "aws"), "sts", "get-caller-identity", "--profile", profile, "--endpoint-url", station.server.url,
               "--region", "us-east-1", "--output", "json"], env).stdout
    return json.loads(out)["Arn"]


def test_a_symlinked_credentials_file_is_edited_through_its_link(station):
    dotfiles = station.home / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "aws-credentials"
    os.replace(station.credentials, target)
    station.credentials.symlink_to("../dotfiles/aws-credentials")
    original = target.read_text()

    station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    assert station.credentials.is_symlink() and os.readlink(station.credentials) == "../dotfiles/aws-credentials"
    assert target.read_text().startswith(original) and "[prod]\naws_access_key_id" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not [p.name for p in station.credentials.parent.iterdir() if p.name != "config" and not p.is_symlink()]
    assert _cli_identity(station) == "arn:aws:sts::123456789012:user/moto"


def test_a_file_saved_with_bare_cr_line_endings_keeps_them_and_stays_readable(station):
    original = station.credentials.read_text().replace("\n", "\r").encode()
    station.credentials.write_bytes(original)
    station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    written = station.credentials.read_bytes()
    assert written.startswith(original) and b"\n" not in written
    assert written.count(b"[prod]") == 1 and written.count(b"[prod-long-term]") == 1
    assert _cli_identity(station) == "arn:aws:sts::123456789012:user/moto"


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(station):
    stale = station.credentials.parent / ".credentials.x1y2z3.tmp"
    stale.write_text("[prod]\naws_secret_access_key = secret-a-killed-writer-left\n")
    stale.chmod(0o600)
    station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    assert not stale.exists()
    assert not list(station.credentials.parent.glob(".credentials.*.tmp"))


def test_a_read_only_file_is_refused_and_left_as_it_is(station):
    station.credentials.chmod(0o400)
    before = station.credentials.read_bytes()
    station.server.reset_counts()
    process = station.login(check=False, callback=None, profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    assert process.returncode != 0 and station.server.actions["GetSessionToken"] == 0  # refused before the code was spent
    assert f"{station.credentials}: the file is read-only (mode 0400): nothing was written" in process.stdout
    assert station.credentials.read_bytes() == before and stat.S_IMODE(station.credentials.stat().st_mode) == 0o400
