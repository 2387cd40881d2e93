# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from datetime import datetime, timedelta, timezone

import pytest

from ansible.errors import AnsibleLookupError


@pytest.fixture
def files(tmp_path, monkeypatch):
    """dev: a valid session for about 2 hours; prod: no session yet; stage: an expired one; [plain]: no long-term profile."""
    soon = (datetime.now(timezone.utc) + timedelta(hours=2, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    credentials, config = tmp_path / "credentials", tmp_path / "config"
    credentials.write_text(
        "[dev-long-term]\naws_access_key_id = AKIADEV\naws_secret_access_key = dev-secret\n"
        f"[dev]\naws_access_key_id = ASIADEV\naws_secret_access_key = s\naws_session_token = t\nexpiration = {soon}\n"
        "[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = prod-secret\n"
        "[stage-long-term]\naws_access_key_id = AKIASTAGE\naws_secret_access_key = stage-secret\n"
        "[stage]\naws_access_key_id = ASIASTAGE\naws_secret_access_key = s\naws_session_token = t\nexpiration = 2020-01-01T00:00:00Z\n"
        "[plain]\naws_access_key_id = AKIAPLAIN\naws_secret_access_key = plain-secret\n")
    config.write_text("[profile prod-long-term]\nmfa_serial = arn:aws:iam::111111111111:mfa/prod-user\n")
    # The environment points elsewhere: the options must win, and nothing of the user's is read.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    return dict(credentials_file=str(credentials), config_file=str(config))


def test_lists_the_long_term_profiles_with_their_sessions(lookup, files):
    listing = lookup("aws_profiles").run([], **files)
    assert [(p["name"], p["long_term_profile"], p["session"]) for p in listing] == [
        ("dev", "dev-long-term", "valid"), ("prod", "prod-long-term", "never"), ("stage", "stage-long-term", "expired")]
    dev, prod, stage = listing
    assert 7200 <= dev["remaining_seconds"] <= 7260 and dev["label"].startswith("dev [MFA Valid: 2h")
    assert prod["mfa_serial"] == "arn:aws:iam::111111111111:mfa/prod-user" and prod["label"] == "prod [Never logged in]"
    assert stage["remaining_seconds"] == 0 and stage["expires_at"] == "2020-01-01T00:00:00+00:00"
    assert "secret" not in str(listing)  # no secret is returned


def test_terms_keep_the_profiles_named(lookup, files):
    assert [p["name"] for p in lookup("aws_profiles").run(["stage", "prod"], **files)] == ["prod", "stage"]


def test_the_environment_names_the_files_by_default(lookup, files, monkeypatch):
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", files["credentials_file"])
    monkeypatch.setenv("AWS_CONFIG_FILE", files["config_file"])
    assert [p["name"] for p in lookup("aws_profiles").run([])] == ["dev", "prod", "stage"]


def test_another_suffix(lookup, files, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("[ops-lt]\naws_access_key_id = AKIAOPS\naws_secret_access_key = s\n"
                           "[dev-long-term]\naws_access_key_id = A\naws_secret_access_key = s\n")
    assert [p["name"] for p in lookup("aws_profiles").run([], credentials_file=str(credentials), long_term_suffix="-lt")] == ["ops"]


def test_a_bad_profile_name_is_an_error(lookup, files):
    with pytest.raises(AnsibleLookupError, match=r"^aws_profiles: profile name 'bad]name' is refused: a name must not"):
        lookup("aws_profiles").run(["bad]name"], **files)
