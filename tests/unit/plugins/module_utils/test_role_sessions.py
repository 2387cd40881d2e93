# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Role sessions with MFA: role profiles found in both forms (the aws CLI's, aws-mfa's), one code per long-term key and
MFA device, the calls a login makes for them (with plain fakes), and what it writes."""

import configparser
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles, login as lg, workstation as ws
from ansible_collections.awssec.mfa.plugins.module_utils.workstation_render import render_login, status_label

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
SERIAL = "arn:aws:iam::111111111111:mfa/alice"
ADMIN = "arn:aws:iam::111111111111:role/admin"
AUDIT = "arn:aws:iam::222222222222:role/audit"
CREDENTIALS = f"[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = prod-secret-key-0001\nmfa_serial = {SERIAL}\n"
CONFIG = f"""[profile prod-long-term]
region = eu-west-1

[profile admin-long-term]
role_arn = {ADMIN}
source_profile = prod-long-term
role_session_name = alice

[profile audit-long-term]
role_arn = {AUDIT}
source_profile = prod
external_id = ext-1
duration_seconds = 7200
region = us-west-2
"""


def files(tmp_path, credentials=CREDENTIALS, config=CONFIG):
    (tmp_path / "credentials").write_text(credentials)
    (tmp_path / "config").write_text(config)
    return ws.Files(str(tmp_path / "credentials"), str(tmp_path / "config"), awsfiles.IniFile(credentials), awsfiles.IniFile(config))


def test_role_profiles_of_the_aws_clis_form_and_of_aws_mfas_are_found_with_their_source_key_and_device(tmp_path):
    mfa_form = CREDENTIALS + f"[ops-long-term]\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops-secret\naws_mfa_device = {SERIAL}\n" \
                             f"assume_role = {ADMIN}\n"
    found = ws.discover(files(tmp_path, mfa_form), NOW)
    assert sorted(found) == ["admin", "audit", "ops", "prod"]
    admin, audit, ops, prod = found["admin"], found["audit"], found["ops"], found["prod"]
    assert prod.role is None and admin.role.arn == ADMIN and audit.role.arn == AUDIT and ops.role.arn == ADMIN
    # The key is the source profile's (named as a section or a short name); the device the role's, else the source's.
    assert (admin.long_term, admin.access_key_id, admin.mfa_serial) == ("prod-long-term", "AKIAPROD", SERIAL)
    assert (audit.long_term, audit.access_key_id) == ("prod-long-term", "AKIAPROD") and ops.long_term == "ops-long-term"
    assert admin.role.defined_in == f"[profile admin-long-term] of {tmp_path / 'config'}"
    assert ops.role.defined_in == f"[ops-long-term] of {tmp_path / 'credentials'}"
    assert (admin.region, audit.region) == ("eu-west-1", "us-west-2")  # the role's own region, else its source's
    assert (audit.role.external_id, audit.role.duration_seconds, admin.role.session_name) == ("ext-1", "7200", "alice")
    assert ws.role_duration(audit, chained=False) == 7200 and ws.role_duration(audit, chained=True) == 3600
    assert ws.role_duration(admin, chained=False) == 3600 and ws.role_session_name(admin) == "alice"
    assert ws.role_session_name(audit, "j doe/x") == "awssec-mfa-j-doe-x"  # what a session name may hold


def test_a_session_of_another_identity_is_not_valid_for_a_profile(tmp_path):
    later = (NOW + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S")
    users = f"aws_access_key_id = ASIA1\naws_secret_access_key = x\naws_session_token = t\nexpiration = {later}\nassumed_role = False\n"
    roles = users.replace("assumed_role = False", f"assumed_role = True\nassumed_role_arn = {ADMIN}")
    found = ws.discover(files(tmp_path, CREDENTIALS + f"[admin]\n{users}[audit]\n{roles}[prod]\n{roles}"), NOW)
    # The user's session under a role profile, another role's under a role profile, a role's under the user's profile.
    assert [(found[n].session, found[n].expires_at is not None) for n in ("admin", "audit", "prod")] == [("other", True)] * 3
    found = ws.discover(files(tmp_path, CREDENTIALS + f"[admin]\n{roles}[prod]\n{users}"), NOW)
    assert (found["admin"].session, found["prod"].session) == ("valid", "valid")
    refresh, valid = ws.plan(files(tmp_path, CREDENTIALS + f"[admin]\n{users}"), ws.LoginOptions(profiles=["admin"]), NOW, check_mode=True)
    assert [p.name for p in refresh] == ["admin"] and valid == []


@pytest.mark.parametrize("config, message", [
    (CONFIG + "[profile x-long-term]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = nowhere\n",
     "the role profile [profile x-long-term] of {config} has source_profile 'nowhere': a role session needs a long-term key"),
    (CONFIG + "[profile x-long-term]\nrole_arn = arn:aws:iam::1:role/x\n", "[profile x-long-term] of {config} has no source_profile and no key of its own"),
])
def test_a_role_profile_without_a_long_term_key_is_named(tmp_path, config, message):
    with pytest.raises(ws.WorkstationError) as error:
        ws.discover(files(tmp_path, config=config), NOW)
    assert message.format(config=tmp_path / "config") in str(error.value)


@pytest.mark.parametrize("change, message", [
    ("duration_seconds = 7200", "duration_seconds = 99999 in [profile audit-long-term] of {config} is out of range: AssumeRole accepts 900 to 43200"),
    ("external_id = ext-1", None),
    ("role_session_name = alice", "role_session_name = a b in [profile admin-long-term] of {config} is not a role session name"),
])
def test_a_role_profiles_values_that_assume_role_would_refuse_are_named_before_any_call(tmp_path, change, message):
    bad = {"duration_seconds = 7200": "duration_seconds = 99999", "role_session_name = alice": "role_session_name = a b"}.get(change, change)
    f = files(tmp_path, config=CONFIG.replace(change, bad))
    options = ws.LoginOptions(profiles=["admin", "audit"], token_codes={"admin": "246810"})
    if message is None:
        assert len(ws.plan(f, options, NOW, check_mode=False)[0]) == 2
        return
    with pytest.raises(ws.WorkstationError) as error:
        ws.plan(f, options, NOW, check_mode=False)
    assert message.format(config=tmp_path / "config") in str(error.value)


def test_a_role_under_the_session_profiles_own_name_is_refused_with_where_it_belongs(tmp_path):
    f = files(tmp_path, config=CONFIG + f"[profile admin]\nrole_arn = {ADMIN}\nsource_profile = prod-long-term\n")
    with pytest.raises(ws.WorkstationError) as error:
        ws.plan(f, ws.LoginOptions(profiles=["admin"], token_codes={"admin": "246810"}), NOW, check_mode=False)
    assert (f"[profile admin] of {tmp_path / 'config'} holds role_arn: botocore and the aws CLI would use that for profile 'admin' before "
            "the session written for it") in str(error.value)
    assert str(error.value).endswith("a role profile is defined under [profile admin-long-term] (role_arn, source_profile, mfa_serial, ...) and "
                                     "its session is then profile 'admin': move those keys there: nothing was changed")


def test_one_code_serves_the_profiles_of_one_key_and_device_and_is_named_when_missing(tmp_path):
    f = files(tmp_path)
    refresh, dummy = ws.plan(f, ws.LoginOptions(profiles=["all"]), NOW, check_mode=True)
    assert [[p.name for p in g] for g in ws.code_groups(refresh)] == [["admin", "audit", "prod"]]
    assert ws.group_code(refresh, {"audit": "135790"}) == ("audit", "135790") and ws.group_code(refresh, {}) == ("admin", None)
    with pytest.raises(ws.WorkstationError) as error:
        ws.plan(f, ws.LoginOptions(profiles=["all"]), NOW, check_mode=False)
    assert str(error.value) == ("the MFA token code for profile 'admin' (one code for profiles admin, audit, prod: one long-term key and "
                                "MFA device) must be 6 digits (0-9) and nothing else")
    pending = lg.login(f, ws.LoginOptions(profiles=["all"]), FakeSessions(), lambda: NOW, check_mode=True)["profiles"]
    assert [(p["name"], p["status"], p["code_from"], p["role_arn"]) for p in pending] == [
        ("admin", "pending", "admin", ADMIN), ("audit", "pending", "admin", AUDIT), ("prod", "pending", "admin", None)]


class FakeSTS:
    def __init__(self, sessions, key, once):
        self.sessions, self.key, self.once = sessions, key, once

    def _answer(self, prefix):
        number = len(self.sessions.calls) - 1
        return {"Credentials": {"AccessKeyId": f"ASIA{prefix}{number}", "SecretAccessKey": f"secret-{number}", "SessionToken": f"token-{number}",
                                "Expiration": NOW + timedelta(hours=1)}}

    def get_session_token(self, **kwargs):
        assert self.once and "aws_retry" not in kwargs, "a code is sent once"
        self.sessions.calls.append(("GetSessionToken", self.key, kwargs))
        return self._answer("S")

    def assume_role(self, aws_retry=False, **kwargs):
        assert aws_retry != self.once and (self.once == ("TokenCode" in kwargs)), "a call with a code is never retried; others are"
        self.sessions.calls.append(("AssumeRole", self.key, kwargs))
        if kwargs["RoleArn"] in self.sessions.refuse:
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole")
        answer = self._answer("R")
        self.sessions.roles[answer["Credentials"]["AccessKeyId"]] = kwargs["RoleArn"]
        return answer

    def get_caller_identity(self, aws_retry=False):
        role = self.sessions.roles.get(self.key)
        arn = f"arn:aws:sts::111111111111:assumed-role/{role.rsplit('/', 1)[1]}/s" if role else "arn:aws:iam::111111111111:user/alice"
        return {"Account": "111111111111", "Arn": arn}


class FakeSessions:
    def __init__(self, refuse=()):
        self.calls, self.refuse, self.roles = [], set(refuse), {}

    def __call__(self, key, secret, token, region):
        sessions = self

        class Session:
            def client(self, service, once=False):
                assert service == "sts" or service == "iam"
                if service == "iam":
                    return type("IAM", (), {"list_access_keys": lambda *a, **k: {"AccessKeyMetadata": []}})()
                return FakeSTS(sessions, key, once)
        return Session()


def sections(path):
    parser = configparser.RawConfigParser()
    parser.read(path)
    return {name: dict(parser.items(name)) for name in parser.sections()}


def test_one_code_gets_the_users_session_then_each_role_with_it_and_a_role_alone_with_the_code(tmp_path):
    f = files(tmp_path)
    sessions = FakeSessions(refuse={AUDIT})
    result = lg.login(f, ws.LoginOptions(profiles=["prod", "admin", "audit"], token_codes={"prod": "246810"}), sessions, lambda: NOW)
    assert [(c[0], c[1], c[2].get("TokenCode"), c[2].get("DurationSeconds")) for c in sessions.calls] == [
        ("GetSessionToken", "AKIAPROD", "246810", 43200), ("AssumeRole", "ASIAS0", None, 3600), ("AssumeRole", "ASIAS0", None, 3600)]
    assert sessions.calls[2][2]["ExternalId"] == "ext-1" and sessions.calls[1][2]["RoleSessionName"] == "alice"
    got = {p["name"]: p for p in result["profiles"]}
    assert [p["name"] for p in result["profiles"]] == ["prod", "admin", "audit"]
    assert (got["prod"]["status"], got["admin"]["status"], got["audit"]["status"]) == ("authenticated", "authenticated", "failed")
    assert "sts:AssumeRole failed for profile 'audit' (with the MFA session of [prod-long-term])" in got["audit"]["error"]
    assert got["admin"]["role_chained"] and "an hour at most" in got["admin"]["warnings"][0]
    written = sections(f.credentials_path)
    assert written["admin"]["assumed_role"] == "True" and written["admin"]["assumed_role_arn"] == ADMIN
    assert written["admin"]["aws_access_key_id"] == "ASIAR1" and written["prod"]["aws_access_key_id"] == "ASIAS0"
    assert "audit" not in written  # refused: nothing written for it, the others kept

    # A role profile alone: AssumeRole with the long-term key, its device and the code, for its own duration.
    sessions = FakeSessions()
    result = lg.login(files(tmp_path), ws.LoginOptions(profiles=["audit"], token_codes={"audit": "135790"}), sessions, lambda: NOW)
    assert [(c[0], c[1]) for c in sessions.calls] == [("AssumeRole", "AKIAPROD")]
    assert {k: sessions.calls[0][2][k] for k in ("SerialNumber", "TokenCode", "DurationSeconds")} == {
        "SerialNumber": SERIAL, "TokenCode": "135790", "DurationSeconds": 7200}
    assert result["profiles"][0]["role_chained"] is False and result["profiles"][0]["warnings"] == []


ROLE_NAMES = st.lists(st.sampled_from(["r1", "r2", "r3", "r4"]), unique=True, max_size=4)


@settings(max_examples=40, deadline=None)
@given(roles=ROLE_NAMES, sources=st.lists(st.sampled_from(["a", "b"]), min_size=4, max_size=4), with_users=st.sets(st.sampled_from(["a", "b"])),
       durations=st.lists(st.sampled_from([None, 900, 3600, 7200]), min_size=4, max_size=4))
def test_any_mix_of_roles_and_sources_sends_each_code_once_and_writes_each_profile_its_own_session(
        tmp_path_factory, roles, sources, with_users, durations):
    tmp_path = tmp_path_factory.mktemp("mix")
    credentials = "".join(f"[{s}-long-term]\naws_access_key_id = AKIA{s.upper()}\naws_secret_access_key = {s}-secret-key\n"
                          f"mfa_serial = arn:aws:iam::111111111111:mfa/{s}\n" for s in ("a", "b"))
    config = "".join(f"[profile {r}-long-term]\nrole_arn = arn:aws:iam::111111111111:role/{r}\nsource_profile = {sources[i]}\n"
                     + (f"duration_seconds = {durations[i]}\n" if durations[i] else "") for i, r in enumerate(roles))
    wanted = sorted(with_users) + roles
    if not wanted:
        return
    f = files(tmp_path, credentials, config)
    sessions = FakeSessions()
    result = lg.login(f, ws.LoginOptions(profiles=wanted, token_codes={n: "246810" for n in wanted}), sessions, lambda: NOW)
    source = {**{u: u for u in with_users}, **{r: sources[i] for i, r in enumerate(roles)}}
    for key in ("AKIAA", "AKIAB"):  # one call with a code per long-term key used, and none with another key's code
        used = {n for n in wanted if f"AKIA{source[n].upper()}" == key}
        coded = [c for c in sessions.calls if "TokenCode" in c[2] and c[1] == key]
        assert len(coded) == (1 if used else 0)
        chained = len(used) > 1
        for name in used & set(roles):
            call = next(c for c in sessions.calls if c[0] == "AssumeRole" and c[2]["RoleArn"].endswith("/" + name))
            asked = durations[roles.index(name)] or 3600
            assert call[2]["DurationSeconds"] == (min(asked, 3600) if chained else asked)
            assert ("TokenCode" in call[2]) == (not chained)
    written = sections(f.credentials_path)
    assert all(p["status"] == "authenticated" for p in result["profiles"]) and sorted(p["name"] for p in result["profiles"]) == sorted(wanted)
    for name in wanted:
        role = f"arn:aws:iam::111111111111:role/{name}" if name in roles else None
        assert written[name].get("assumed_role_arn") == role and written[name]["assumed_role"] == str(bool(role))
    again = lg.login(ws.Files(f.credentials_path, f.config_path, awsfiles.IniFile(open(f.credentials_path).read()), f.config),
                     ws.LoginOptions(profiles=wanted), FakeSessions(), lambda: NOW)
    assert {p["status"] for p in again["profiles"]} == {"valid"}  # each session is its profile's own


def test_a_role_sessions_lines_say_which_role_and_session(tmp_path):
    result = lg.login(files(tmp_path), ws.LoginOptions(profiles=["admin"], token_codes={"admin": "246810"}), FakeSessions(), lambda: NOW)
    assert render_login(result, quiet=True) == [f"ℹ Assuming role {ADMIN}...", "✓ Authentication successful! (use profile: admin)",
                                                "ℹ Role session: arn:aws:sts::111111111111:assumed-role/admin/s | Account: 111111111111"]
    assert status_label(ws.discover(files(tmp_path, CREDENTIALS + "[admin]\naws_session_token = t\nexpiration = 2030-01-01 00:00:00\n"),
                                    NOW)["admin"], NOW) == "Session of another role"
