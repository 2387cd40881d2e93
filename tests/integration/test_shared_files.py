# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Credential files as other tools and people leave them: symlinked by a dotfile manager, saved with bare CRs,
read-only, with a killed writer's temporary file beside them. ansible-playbook awssec.mfa.mfa_login edits them;
the real aws CLI reads the result."""

import json
import os
import stat

import pytest

from tests.integration.conftest import BIN, run
from tests.integration.workstation import CODES, CREDENTIALS_TEMPLATE, task


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


def _aws_configure_get(station, name, profile):
    return run([str(BIN / "aws"), "configure", "get", name, "--profile", profile], station.env, check=False).stdout.strip()


def _aws_profile(station, **arguments):
    return run(["ansible", "localhost", "-m", "awssec.mfa.aws_profile", "-a", json.dumps(arguments)], station.env)


def test_quoted_and_spaced_config_profiles_are_found_and_written_as_botocore_and_aws_cli_name_them(station):
    station.write(credentials=CREDENTIALS_TEMPLATE.replace("mfa_serial = {serial}\n", ""),
                  config='# by aws-cli\n[profile "prod-long-term"]\nmfa_serial = {serial}\nregion = us-east-1\n\n[profile "prod"]\noutput = json\n')
    # The MFA device is found in [profile "prod-long-term"], as botocore names that section.
    process = station.login(profiles="prod", mfa_workstation_token_codes={"prod": CODES["prod"]})
    assert task(process, "Get the MFA sessions")["profiles"][0]["status"] == "authenticated"

    _aws_profile(station, name="prod", file="config", values={"region": "eu-west-2"})
    config = station.config.read_text()
    assert config.count("prod\"]") == 1 and "[profile prod]" not in config
    assert _aws_configure_get(station, "region", "prod") == "eu-west-2" and _aws_configure_get(station, "output", "prod") == "json"

    _aws_profile(station, name="team a", file="config", values={"region": "ap-south-1"})
    assert "\n[profile 'team a']\nregion = ap-south-1\n" in station.config.read_text()
    assert _aws_configure_get(station, "region", "team a") == "ap-south-1"
    again = _aws_profile(station, name="team a", file="config", values={"region": "ap-south-1"})
    assert '"changed": false' in again.stdout


def test_nested_values_are_written_as_botocore_reads_them(station):
    _aws_profile(station, name="prod", file="config", values={"region": "eu-west-1", "s3": {"signature_version": "s3v4"}})
    assert "[profile prod]\nregion = eu-west-1\ns3 =\n    signature_version = s3v4\n" in station.config.read_text()
    assert _aws_configure_get(station, "s3.signature_version", "prod") == "s3v4"
    script = ("import boto3; s = boto3.Session(profile_name='prod'); c = s.client('s3', endpoint_url='http://127.0.0.1:9'); "
              "print(s._session.get_scoped_config()['s3'], c.meta.config.signature_version)")
    out = run([str(BIN / "python"), "-c", script], station.env).stdout
    assert out.strip() == "{'signature_version': 's3v4'} s3v4"


def test_a_big_credentials_file_is_edited_in_memory_linear_in_its_size(station, tmp_path):
    """6.4 MB of 50,000 profiles, edited by a module process limited to 200 MB of address space (it needs under
    100 MB; two configparser parses per edit needed over 200). bench/awsfiles_scale.py times 50 MB."""
    text = "".join(f"[user{i}-long-term]\naws_access_key_id = AKIA{i:016d}\naws_secret_access_key = {i:040d}\n\n" for i in range(50000))
    station.credentials.write_text(text)
    limited = tmp_path / "python-200mb"
    limited.write_text(f"#!/bin/sh\nulimit -v 200000\nexec {BIN / 'python'} \"$@\"\n")
    limited.chmod(0o755)
    run(["ansible", "localhost", "-m", "awssec.mfa.aws_profile", "-e", f"ansible_python_interpreter={limited}",
         "-a", json.dumps({"name": "user25000-long-term", "values": {"aws_session_token": "t0ken"}})], station.env)
    section = "[user25000-long-term]\naws_access_key_id = AKIA0000000000025000\naws_secret_access_key = " + "0" * 35 + "25000\n"
    assert station.credentials.read_text() == text.replace(section, section + "aws_session_token = t0ken\n")
    assert _aws_configure_get(station, "aws_session_token", "user25000-long-term") == "t0ken"


PROJECT_WRITER = """
import json, os, sys
from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles
path, stop = sys.argv[1], sys.argv[2]
last, rounds = {}, 0
while not os.path.exists(stop):
    for i in range(100):
        name, value = f"proj-{i}", f"round-{rounds}"
        awsfiles.update(path, lambda ini: ini.set(name, {"aws_session_token": value}))
        last[name] = value
    rounds += 1
print(json.dumps({"last": last, "rounds": rounds}))
"""


CLI_WRITES = 20


@pytest.mark.ansible_independent
def test_aws_cli_writes_racing_the_projects_writes_lose_nothing(station, tmp_path):
    # The aws CLI rewrites the file in place, without a lock; this project's writer races its writes (each round, 100 of them)
    # against 20 of the aws CLI's: the writer's rounds span the CLI's writes, so the race happened.
    import subprocess
    import sys
    import threading

    from botocore.configloader import raw_config_parse

    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", PROJECT_WRITER, str(station.credentials), str(stop)], stdout=subprocess.PIPE,
                              text=True, env=station.env)
    unreadable, sampling = [], threading.Event()

    def sample():
        while not sampling.wait(0.02):
            try:
                raw_config_parse(str(station.credentials))
            except Exception as e:  # pylint: disable=broad-except
                unreadable.append(repr(e))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for i in range(CLI_WRITES):
            run([str(BIN / "aws"), "configure", "set", "aws_access_key_id", f"AKIACLI{i:05d}", "--profile", f"cli-{i}"], station.env)
    finally:
        stop.touch()
        out, dummy = writer.communicate(timeout=120)
        sampling.set()
        sampler.join()
    written = json.loads(out)
    sections = raw_config_parse(str(station.credentials))
    lost_cli = [i for i in range(CLI_WRITES) if sections.get(f"cli-{i}", {}).get("aws_access_key_id") != f"AKIACLI{i:05d}"]
    lost_project = [n for n, v in written["last"].items() if sections.get(n, {}).get("aws_session_token") != v]
    assert written["rounds"] >= 2 and (lost_cli, lost_project, unreadable) == ([], [], [])
    assert sections["prod-long-term"]["aws_access_key_id"] == station.key  # what was there before is still there
