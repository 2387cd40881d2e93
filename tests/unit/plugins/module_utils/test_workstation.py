# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Workstation logic: session states, MFA serial lookup, key age, planning, and login with plain fakes."""

import configparser
import os
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles, clients, login as lg, workstation as ws
from ansible_collections.awssec.mfa.plugins.module_utils.workstation_render import render_login, status_label
from ansible_collections.awssec.mfa.plugins.module_utils.records import user_name_from_arn

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


def files(credentials="", config="", env=None, tmp_path=None):
    path = str(tmp_path / "credentials") if tmp_path else "/nowhere/credentials"
    if tmp_path:
        (tmp_path / "credentials").write_text(credentials)
    return ws.Files(path, "/nowhere/config", awsfiles.IniFile(credentials, path), awsfiles.IniFile(config, "/nowhere/config"),
                    "/p/.env" if env else None, env or {})


LONG_TERM = "[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = s3cret\nmfa_serial = arn:aws:iam::1:mfa/p\n"


@pytest.mark.parametrize("value, expected", [
    ("2026-11-23 13:00:00", datetime(2026, 11, 23, 13, tzinfo=timezone.utc)),  # aws-mfa's format is UTC, not local time
    ("2026-11-23T13:00:00Z", datetime(2026, 11, 23, 13, tzinfo=timezone.utc)),
    ("2026-11-23T14:00:00+01:00", datetime(2026, 11, 23, 13, tzinfo=timezone.utc)),
    ("tomorrow", None),
    ("", None),
])
def test_expiration_parses_to_aware_utc(value, expected):
    assert ws.parse_expiration(value) == expected


def test_session_state_compares_aware_utc_times():
    section = {"aws_session_token": "t", "expiration": "2026-11-23 11:59:00"}
    assert ws.session_state(section, NOW)[0] == "expired"
    assert ws.session_state({"aws_session_token": "t", "expiration": "2026-11-23 20:42:30"}, NOW)[0] == "valid"
    assert ws.session_state(None, NOW) == ("never", None)
    assert ws.session_state({"aws_session_token": "t"}, NOW) == ("unknown", None)


def test_labels_are_the_seeds():
    profile = ws.Profile("dev", "dev-long-term", "AKIA", "s", session="valid", expires_at=NOW + timedelta(hours=8, minutes=42, seconds=30))
    assert status_label(profile, NOW) == "MFA Valid: 8h 42m remaining"
    assert status_label(ws.Profile("p", "p-long-term", "A", "s"), NOW) == "Never logged in"
    assert status_label(ws.Profile("p", "p-long-term", "A", "s", session="expired"), NOW) == "MFA session expired"


@pytest.mark.parametrize("age, rotation, left", [(None, "ok", None), (334, "ok", 31), (335, "recommended", 30), (365, "recommended", 0),
                                                 (366, "required", -1), (412, "required", -47)])
def test_key_rotation_starts_30_days_before(age, rotation, left):
    assert ws.key_rotation(age, 365) == (rotation, left)


@pytest.mark.parametrize("arn, name", [("arn:aws:iam::123456789012:user/alice", "alice"), ("arn:aws:iam::1:user/division/team/bob", "bob"),
                                       ("arn:aws:sts::123456789012:user/moto", "moto"),
                                       ("arn:aws:sts::1:assumed-role/Admin/session", None), ("arn:aws:iam::1:root", None)])
def test_user_name_from_the_callers_arn(arn, name):
    assert user_name_from_arn(arn) == name


def test_mfa_serial_config_first_then_credentials_and_every_place_is_named():
    f = files(LONG_TERM, "[profile prod-long-term]\naws_mfa_device = arn:aws:iam::1:mfa/from-config\n")
    assert ws.find_mfa_serial("prod", "prod-long-term", f)[0] == "arn:aws:iam::1:mfa/from-config"
    f = files(LONG_TERM.replace("mfa_serial", "region"), "")
    serial, places = ws.find_mfa_serial("prod", "prod-long-term", f)
    assert serial is None
    assert places == [
        "mfa_serial in [profile prod-long-term] of /nowhere/config", "aws_mfa_device in [profile prod-long-term] of /nowhere/config",
        "mfa_serial in [prod-long-term] of /nowhere/config", "aws_mfa_device in [prod-long-term] of /nowhere/config",
        "mfa_serial in [prod-long-term] of /nowhere/credentials", "aws_mfa_device in [prod-long-term] of /nowhere/credentials"]


def test_discover_finds_long_term_profiles_only_and_the_env_credential_as_default():
    text = LONG_TERM + "[prod]\naws_access_key_id = ASIA\naws_secret_access_key = x\naws_session_token = t\nexpiration = 2026-11-23 20:00:00\n" \
        "[old-long-term]\naws_access_key_id = ASIA\naws_secret_access_key = x\naws_session_token = t\n[other]\naws_access_key_id = A\n"
    found = ws.discover(files(text, env={"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e", "AWS_MFA_SERIAL": "arn:env"}), NOW)
    assert list(found) == ["default", "prod"]
    assert found["prod"].session == "valid" and found["prod"].mfa_serial == "arn:aws:iam::1:mfa/p"
    assert found["default"].long_term == "/p/.env" and found["default"].mfa_serial == "arn:env"
    assert "s3cret" not in repr(found["prod"])


def test_plan_checks_every_input_before_anything(tmp_path):
    f = files(LONG_TERM, tmp_path=tmp_path)
    options = ws.LoginOptions(profiles=["prod"], token_codes={"prod": "12345a"})
    with pytest.raises(ws.WorkstationError, match="the MFA token code for profile 'prod' must be 6 digits"):
        ws.plan(f, options, NOW, check_mode=False)
    for code in ("١٢٣٤٥٦", "123456\n", " 123456", "1234567", "12 456", 123456.0):  # Arabic-Indic digits, a newline...
        with pytest.raises(ws.WorkstationError, match=r"must be 6 digits \(0-9\) and nothing else"):
            ws.plan(f, ws.LoginOptions(profiles=["prod"], token_codes={"prod": code}), NOW, check_mode=False)
    assert ws.check_token_code("prod", "012345") == "012345" and ws.check_token_code("prod", 246810) == "246810"
    for name in ("prod]\n[victim", "", " prod"):
        with pytest.raises(ws.WorkstationError, match="is refused"):
            ws.plan(f, ws.LoginOptions(profiles=[name]), NOW, check_mode=True)
    with pytest.raises(ws.WorkstationError, match="long_term_suffix '-long]' is refused"):
        ws.plan(f, ws.LoginOptions(profiles=["prod"], long_term_suffix="-long]"), NOW, check_mode=True)
    with pytest.raises(ws.WorkstationError, match="duration_seconds=129601 is out of range"):
        ws.plan(f, ws.LoginOptions(profiles=["prod"], duration_seconds=129601), NOW, False)
    with pytest.raises(ws.WorkstationError, match=r"unknown profile 'qa': .* \(long-term profiles found: prod\)"):
        ws.plan(f, ws.LoginOptions(profiles=["prod", "qa"]), NOW, False)
    refresh, valid = ws.plan(f, ws.LoginOptions(profiles=["all"]), NOW, check_mode=True)  # no code needed to plan
    assert [p.name for p in refresh] == ["prod"] and valid == []


class FakeSTS:
    def __init__(self, calls, fail=None):
        self.calls, self.fail = calls, fail

    def get_session_token(self, **kwargs):
        assert "aws_retry" not in kwargs, "a code is sent once"
        self.calls.append(("GetSessionToken", kwargs["TokenCode"]))
        if self.fail:
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "invalid MFA one time pass code"}}, "GetSessionToken")
        return {"Credentials": {"AccessKeyId": "ASIANEW", "SecretAccessKey": "sessionsecret", "SessionToken": "tok",
                                "Expiration": NOW + timedelta(hours=12)}}

    def get_caller_identity(self, aws_retry=False):
        assert aws_retry, "reads are retried on throttling"
        self.calls.append(("GetCallerIdentity", None))
        return {"Account": "111111111111", "Arn": "arn:aws:iam::111111111111:user/alice"}


class FakeIAM:
    def __init__(self, calls):
        self.calls = calls

    def list_access_keys(self, UserName, aws_retry=False):
        assert aws_retry, "reads are retried on throttling"
        self.calls.append(("ListAccessKeys", UserName))
        return {"AccessKeyMetadata": [{"AccessKeyId": "AKIAPROD", "Status": "Active", "CreateDate": NOW - timedelta(days=87)}]}


class FakeSessions:
    def __init__(self, fail=False):
        self.calls, self.made, self.fail = [], [], fail

    def __call__(self, key, secret, token, region):
        self.made.append((key, token))
        sessions = self

        class Session:
            def client(self, service, once=False):
                if service == "sts":
                    assert once == (token is None), "only the long-term GetSessionToken client must never retry"
                    return FakeSTS(sessions.calls, sessions.fail)
                return FakeIAM(sessions.calls)
        return Session()


def test_login_writes_the_session_and_checks_the_user_with_it(tmp_path):
    f = files(LONG_TERM, tmp_path=tmp_path)
    sessions = FakeSessions()
    result = lg.login(f, ws.LoginOptions(profiles=["prod"], token_codes={"prod": "246810"}), sessions, lambda: NOW)
    entry = result["profiles"][0]
    assert entry["status"] == "authenticated" and entry["user"] == "alice" and entry["key_age_days"] == 87 and entry["key_rotation"] == "ok"
    assert sessions.calls == [("GetSessionToken", "246810"), ("GetCallerIdentity", None), ("ListAccessKeys", "alice")]
    assert sessions.made == [("AKIAPROD", None), ("ASIANEW", "tok")]  # only GetSessionToken used the long-term key
    parser = configparser.RawConfigParser()
    parser.read(f.credentials_path)
    assert dict(parser.items("prod")) == {"aws_access_key_id": "ASIANEW", "aws_secret_access_key": "sessionsecret", "aws_session_token": "tok",
                                          "aws_security_token": "tok", "expiration": "2026-11-24 00:00:00", "assumed_role": "False"}
    assert "sessionsecret" not in repr(result) and "246810" not in repr(result)
    assert render_login(result)[3:6] == ["ℹ Requesting session token for 12 hours, 0 minutes...",
                                         "✓ Authentication successful! (use profile: prod)", "ℹ User: alice | Account: 111111111111"]


def test_a_valid_session_costs_no_call_and_a_rejected_code_writes_nothing(tmp_path):
    valid = LONG_TERM + "[prod]\naws_session_token = t\nexpiration = 2026-11-23 20:42:00\n"
    sessions = FakeSessions()
    result = lg.login(files(valid, tmp_path=tmp_path), ws.LoginOptions(profiles=["prod"]), sessions, lambda: NOW)
    assert result["profiles"][0]["status"] == "valid" and result["profiles"][0]["remaining"] == "8h 42m" and sessions.made == []

    sessions = FakeSessions(fail=True)
    f = files(LONG_TERM, tmp_path=tmp_path)
    result = lg.login(f, ws.LoginOptions(profiles=["prod"], token_codes={"prod": "246810"}), sessions, lambda: NOW)
    assert result["profiles"][0]["status"] == "failed" and "AccessDenied" in result["profiles"][0]["error"]
    assert result["changed"] is False and open(f.credentials_path).read() == LONG_TERM
    assert sessions.calls == [("GetSessionToken", "246810")]  # AccessDenied is not retried anyway: see the throttled test below


_THROTTLED = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code>'
              b'<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>')


class ThrottledSessions(clients.Sessions):
    """The real Sessions, whose clients' GetSessionToken requests are answered Throttling (which botocore retries)
    before they leave the process; ``sent`` lists the requests botocore really sent."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def __call__(self, key, secret, token, region):
        made = super().__call__(key, secret, token, region or "us-east-1")
        made._session.events.register("before-send.sts.GetSessionToken", self._answer)  # pylint: disable=protected-access
        return made

    def _answer(self, request, **kwargs):  # pylint: disable=unused-argument
        from botocore.awsrequest import AWSResponse

        class Raw:
            def stream(self, **kwargs):  # pylint: disable=unused-argument
                yield _THROTTLED

        self.sent.append(request.url)
        return AWSResponse(request.url, 400, {}, Raw())


def test_a_throttled_token_code_is_sent_once_while_a_plain_client_retries(tmp_path, monkeypatch):
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)  # botocore's backoff between retries
    for name in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    # The hook sees retries: a client made without once sends the throttled request again.
    control = ThrottledSessions()
    with pytest.raises(Exception, match="Throttling"):
        control("AKIAPROD", "s3cret", None, None).client("sts").get_session_token(SerialNumber="arn:aws:iam::1:mfa/p", TokenCode="246810")
    assert len(control.sent) > 1
    # login's GetSessionToken carries a TOTP code, which AWS refuses twice: sent once, the profile failed, nothing written.
    sessions = ThrottledSessions()
    f = files(LONG_TERM, tmp_path=tmp_path)
    result = lg.login(f, ws.LoginOptions(profiles=["prod"], token_codes={"prod": "246810"}), sessions, lambda: NOW)
    assert len(sessions.sent) == 1
    assert result["profiles"][0]["status"] == "failed" and "Throttling" in result["profiles"][0]["error"]
    assert open(f.credentials_path).read() == LONG_TERM


def _with_config(f, tmp_path, text):
    """``f`` with a real config file in tmp_path."""
    (tmp_path / "config").write_text(text)
    return ws.Files(f.credentials_path, str(tmp_path / "config"), f.credentials, awsfiles.IniFile(text), f.env_path, f.env)


def test_a_session_inherits_region_and_output_it_lacks_and_drops_an_aws_mfa_role_arn(tmp_path):
    stale = "[prod]\naws_access_key_id = ASIAOLD\nassumed_role = True\nassumed_role_arn = arn:aws:iam::1:role/admin\n"
    f = _with_config(files(LONG_TERM.replace("mfa_serial", "region = eu-west-3\noutput = json\nmfa_serial") + stale, tmp_path=tmp_path),
                     tmp_path, '# mine\n[profile "prod"]\ncli_pager =\n')
    lg.login(f, ws.LoginOptions(profiles=["prod"], token_codes={"prod": "246810"}, force=True), FakeSessions(), lambda: NOW)
    parser = configparser.RawConfigParser()
    parser.read(f.credentials_path)
    session = dict(parser.items("prod"))
    assert session["assumed_role"] == "False" and "assumed_role_arn" not in session and "region" not in session
    # In the config file's section for prod (the quoted one botocore reads), where a later region edit goes too.
    assert (tmp_path / "config").read_text() == '# mine\n[profile "prod"]\ncli_pager =\nregion = eu-west-3\noutput = json\n'

    # The session profile's own region wins: nothing is copied over it.
    f = _with_config(files(LONG_TERM.replace("mfa_serial", "region = eu-west-3\nmfa_serial"), tmp_path=tmp_path), tmp_path,
                     "[profile prod]\nregion = us-west-2\n")
    lg.login(f, ws.LoginOptions(profiles=["prod"], token_codes={"prod": "246810"}), FakeSessions(), lambda: NOW)
    assert (tmp_path / "config").read_text() == "[profile prod]\nregion = us-west-2\n"


def test_key_expiration_days_option_then_environment_then_env_file():
    f = files(env={"AWS_KEY_EXPIRATION_DAYS": "300"})
    assert ws.key_expiration_days(None, f, {}) == 300
    assert ws.key_expiration_days(None, f, {"AWS_KEY_EXPIRATION_DAYS": "180"}) == 180
    assert ws.key_expiration_days(90, f, {"AWS_KEY_EXPIRATION_DAYS": "180"}) == 90
    assert ws.key_expiration_days(None, files(), {}) == 365
    with pytest.raises(ws.WorkstationError, match="AWS_KEY_EXPIRATION_DAYS='soon' is not a whole number"):
        ws.key_expiration_days(None, files(), {"AWS_KEY_EXPIRATION_DAYS": "soon"})


def test_sessions_use_the_keys_given_whatever_aws_profile_names_and_leave_the_environment_alone(tmp_path, monkeypatch):
    (tmp_path / "config").write_text("[profile other]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "prod")  # the session profile about to be written: it does not exist yet
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "prod")
    before = dict(os.environ)
    client = clients.Sessions("http://127.0.0.1:9")("AKIAGIVEN", "secret", None, "eu-central-1").client("sts", once=True)
    credentials = client._request_signer._credentials  # pylint: disable=protected-access
    assert credentials.access_key == "AKIAGIVEN" and client.meta.region_name == "eu-central-1"
    assert client.meta.config.retries["total_max_attempts"] == 1  # a code is never sent twice
    assert dict(os.environ) == before


def test_discovery_reads_the_config_files_profile_sections_once(monkeypatch):
    """Each profile looked its config section up by reading every section name (25 s for 1,000 profiles)."""
    calls = []
    real = awsfiles.profile_of_section
    monkeypatch.setattr(awsfiles, "profile_of_section", lambda section: calls.append(section) or real(section))
    credentials = "".join(f"[p{i}-long-term]\naws_access_key_id = AKIA{i}\naws_secret_access_key = s\n" for i in range(200))
    config = "".join(f"[profile p{i}-long-term]\nmfa_serial = arn:aws:iam::1:mfa/p{i}\n" for i in range(200))
    profiles = ws.discover(files(credentials, config), NOW)
    assert len(profiles) == 200 and profiles["p7"].mfa_serial == "arn:aws:iam::1:mfa/p7"
    assert len(calls) == 200
