# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import configparser

from ansible_collections.awssec.mfa.plugins.modules.aws_profile import main


def read_ini(path):
    ini = configparser.RawConfigParser()
    ini.read(path)
    return {s: dict(ini[s]) for s in ini.sections()}


def test_writes_a_credentials_profile_and_hides_the_secret_in_the_diff(run_module, aws_env, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("[other]\naws_access_key_id = AKIAOTHER\n")
    result = run_module(main, dict(name="dev-long-term", path=str(credentials), values=dict(aws_access_key_id="AKIANEW", aws_secret_access_key="s3cret")))
    assert result["rc"] == 0 and result["changed"] is True
    assert result["section"] == "dev-long-term" and result["option_names"] == ["aws_access_key_id", "aws_secret_access_key"]
    assert read_ini(credentials) == {"other": {"aws_access_key_id": "AKIAOTHER"},
                                     "dev-long-term": {"aws_access_key_id": "AKIANEW", "aws_secret_access_key": "s3cret"}}
    # masked() hides the secret; the key ID too is starred, as a value of the no_log option values.
    assert result["diff"]["after"] == "[dev-long-term]\naws_access_key_id = ********\naws_secret_access_key = ********\n"
    assert result["diff"]["before"] == ""
    # The same values again change nothing.
    again = run_module(main, dict(name="dev-long-term", path=str(credentials), values=dict(aws_access_key_id="AKIANEW", aws_secret_access_key="s3cret")))
    assert again["changed"] is False


def test_config_profile_section_and_check_mode_writes_nothing(run_module, aws_env):
    dummy, config = aws_env
    result = run_module(main, dict(name="dev", file="config", values=dict(region="eu-west-1")), check_mode=True)
    assert result["changed"] is True and result["section"] == "profile dev" and result["path"] == str(config)
    assert config.read_text() == ""
    result = run_module(main, dict(name="dev", file="config", values=dict(region="eu-west-1")))
    assert read_ini(config) == {"profile dev": {"region": "eu-west-1"}}


def test_absent_removes_the_profile(run_module, aws_env):
    credentials, dummy = aws_env
    credentials.write_text("[gone]\naws_access_key_id = AKIAGONE\n[kept]\naws_access_key_id = AKIAKEPT\n")
    result = run_module(main, dict(name="gone", state="absent"))
    assert result["changed"] is True and read_ini(credentials) == {"kept": {"aws_access_key_id": "AKIAKEPT"}}


def test_a_name_that_would_inject_a_section_is_refused_and_nothing_written(run_module, aws_env):
    credentials, dummy = aws_env
    result = run_module(main, dict(name="dev]\n[evil", values=dict(region="x")))
    assert result["rc"] == 1 and result["failed"] is True
    assert "is refused" in result["msg"] and result["msg"].endswith("Nothing was written.")
    assert credentials.read_text() == ""
