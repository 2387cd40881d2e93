# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import configparser

import pytest
from moto import mock_aws

from ansible_collections.awssec.mfa.plugins.modules.aws_mfa_session import main

SERIAL = "arn:aws:iam::123456789012:mfa/dev-user"


@pytest.fixture
def workstation(aws_env):
    credentials, config = aws_env
    credentials.write_text(f"[dev-long-term]\naws_access_key_id = AKIADEVLONGTERM00001\naws_secret_access_key = long-term-secret\n"
                           f"aws_mfa_device = {SERIAL}\n")
    config.write_text("[profile dev]\nregion = us-east-1\n")
    with mock_aws():
        yield credentials


def sections(path):
    ini = configparser.RawConfigParser()
    ini.read(path)
    return {s: dict(ini[s]) for s in ini.sections()}


def test_writes_the_session_of_a_profile(run_module, workstation):
    result = run_module(main, dict(profiles=["dev"], token_code="123456", duration_seconds=3600))
    assert result["rc"] == 0 and result["changed"] is True
    [profile] = result["profiles"]
    assert (profile["name"], profile["long_term_profile"], profile["status"]) == ("dev", "dev-long-term", "authenticated")
    assert 3500 < profile["remaining_seconds"] <= 3600 and profile["error"] is None
    written = sections(workstation)
    # The long-term key is kept as it was; the session goes to [dev], with a token and another key.
    assert written["dev-long-term"]["aws_access_key_id"] == "AKIADEVLONGTERM00001"
    assert written["dev"]["aws_session_token"] and written["dev"]["aws_access_key_id"] != "AKIADEVLONGTERM00001"
    assert "long-term-secret" not in str(result) and written["dev"]["aws_secret_access_key"] not in str(result)


def test_check_mode_writes_no_session(run_module, workstation):
    before = workstation.read_text()
    result = run_module(main, dict(profiles=["dev"], token_code="123456"), check_mode=True)
    assert result["rc"] == 0 and workstation.read_text() == before


def test_token_code_for_every_profile_is_refused(run_module, workstation):
    result = run_module(main, dict(token_code="123456"))
    assert result["rc"] == 1 and result["msg"] == "token_code is for a single profile: name it in profiles, or use token_codes"
    assert result["api_calls"] == 0
