# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Workstation files and sessions at their edges: what botocore refuses, nested options, [DEFAULT], sections whose names
collide, temporary files a killed writer left, a folder that cannot be written, extreme expirations, the region of a
rotation, a CreateAccessKey whose answer was lost, and what a failed rotation leaves. botocore's reader is the oracle."""

import configparser
import fcntl
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles, clients, login as lg, rotate as r, workstation as ws
from ansible_collections.awssec.mfa.plugins.module_utils.workstation_render import profile_listing
from tests.support.examples import examples

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
SERIAL = "arn:aws:iam::123456789012:mfa/alice"


def botocore_config(path):
    """botocore's reading of a file (raw_config_parse, nested values parsed): {section: options}."""
    from botocore.configloader import raw_config_parse

    return raw_config_parse(str(path))


def files_at(tmp_path, credentials, config=""):
    (tmp_path / "credentials").write_text(credentials)
    (tmp_path / "config").write_text(config)
    return lg.read_files(str(tmp_path / "credentials"), str(tmp_path / "config"))


class Sessions:
    """Fake boto3 sessions: GetSessionToken answers a session per long-term key; ``calls`` lists what was sent."""

    def __init__(self):
        self.calls = []

    def __call__(self, key, secret, token, region):
        calls = self.calls

        class STS:
            def get_session_token(self, **kwargs):
                calls.append(("GetSessionToken", key))
                return {"Credentials": {"AccessKeyId": "ASIA" + key[4:], "SecretAccessKey": "session-" + secret, "SessionToken": "tok-" + key,
                                        "Expiration": NOW + timedelta(hours=12)}}

            def get_caller_identity(self, aws_retry=False):
                return {"Account": "123456789012", "Arn": "arn:aws:sts::123456789012:assumed-role/r/s"}  # no key check: fewer fakes

        class Session:
            def client(self, service, once=False):
                return STS()
        return Session()


def codes_for(f):
    return {name: "123456" for name in ws.discover(f, NOW)}


# --- 1. a file botocore refuses is named, with its line, and never written ------------------------------------------------

BAD_NESTED = "[default]\ns3 =\n    bad_syntax @ s3v4\n"  # botocore's own fixture (aws_config_nested_bad) has this line


def test_a_file_botocore_refuses_for_a_nested_value_is_named_with_its_line_and_never_written(tmp_path):
    from botocore.exceptions import ConfigParseError

    path = tmp_path / "config"
    path.write_text(BAD_NESTED)
    with pytest.raises(ConfigParseError):
        botocore_config(path)
    for check_mode in (True, False):
        with pytest.raises(awsfiles.FileError, match=r"config line 3: option 's3' holds a nested value .* not key = value"):
            awsfiles.set_profile(str(path), "config", "dev", {"region": "eu-west-1"}, [], "present", check_mode)
    assert path.read_text() == BAD_NESTED
    # A [DEFAULT] option is every section's: refused once another section has none of its own, as botocore refuses it.
    assert awsfiles.IniFile("[DEFAULT]\ns3 =\n  bad\n").names() == ["DEFAULT"]
    assert awsfiles.IniFile("[DEFAULT]\ns3 =\n  bad\n[a]\ns3 = fine\n").names() == ["DEFAULT", "a"]
    with pytest.raises(awsfiles.FileError, match="line 3: option 's3'"):
        awsfiles.IniFile("[DEFAULT]\ns3 =\n  bad\n[a]\ns3 = fine\n[b]\nx = 1\n")
    ini = awsfiles.IniFile("[DEFAULT]\ns3 =\n  bad\n[a]\ns3 = fine\n")
    with pytest.raises(awsfiles.FileError, match="nothing was changed"):
        ini.set("b", {"x": "1"})  # [b] would inherit the nested value botocore refuses
    assert ini.text == "[DEFAULT]\ns3 =\n  bad\n[a]\ns3 = fine\n"


# --- 2. a nested option is merged as aws configure set merges it ----------------------------------------------------------
# The three cases are aws-cli's own writer tests (aws/aws-cli, tests/unit/customizations/configure/test_writer.py,
# Apache License 2.0): test_add_to_nested_with_nested_in_the_middle, ..._in_the_end, test_updated_nested_attribute_new_section.

@pytest.mark.parametrize("before, after", [
    ("[default]\ns3 =\n    other = foo\nec2 = bar\n", "[default]\ns3 =\n    other = foo\n    signature_version = newval\nec2 = bar\n"),
    ("[default]\ns3 =\n    other = foo\n", "[default]\ns3 =\n    other = foo\n    signature_version = newval\n"),
    ("[default]\ns3 =\n    other = foo\n[profile foo]\nfoo = bar\n",
     "[default]\ns3 =\n    other = foo\n    signature_version = newval\n[profile foo]\nfoo = bar\n"),
    # and a sub-key that is there is replaced in place, its siblings and their comments kept
    ("[default]\ns3 =\n  addressing_style = path\n  # mine\n  signature_version = s3\n",
     "[default]\ns3 =\n  addressing_style = path\n  # mine\n  signature_version = newval\n"),
])
def test_setting_a_nested_option_keeps_its_other_sub_keys_as_aws_cli_does(tmp_path, before, after):
    path = tmp_path / "config"
    path.write_text(before)
    result = awsfiles.set_profile(str(path), "config", "default", {"s3": {"signature_version": "newval"}}, [], "present", False)
    assert result["changed"] and path.read_text() == after
    assert botocore_config(path)["default"]["s3"]["signature_version"] == "newval"


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["region = x", "s3 =", "  a = 1", "  b = 2", "    b = 3", "  # c", "", "s3 = plain", "[other]",
                                 "  bad"]), max_size=8),
       st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "v v", ""]), min_size=1))
def test_a_nested_option_set_on_any_readable_file_reads_back_merged_in_botocore(tmp_path_factory, lines, sub_keys):
    path = tmp_path_factory.mktemp("nested") / "config"
    path.write_text("[default]\n" + "\n".join(lines) + "\n")
    try:
        before = botocore_config(path)
    except Exception:  # botocore refuses it: so does this collection, and nothing is written
        with pytest.raises(awsfiles.FileError):
            awsfiles.update(str(path), lambda ini: ini.set("default", {"s3": sub_keys}))
        return
    try:
        awsfiles.update(str(path), lambda ini: ini.set("default", {"s3": sub_keys}))
    except awsfiles.FileError as e:
        assert "would change how the sections next to it are read" in str(e)
        return
    after = botocore_config(path)
    old = before["default"].get("s3")
    assert after["default"]["s3"] == {**(old if isinstance(old, dict) else {}), **sub_keys}
    assert {k: v for k, v in after["default"].items() if k != "s3"} == {k: v for k, v in before["default"].items() if k != "s3"}
    assert {k: v for k, v in after.items() if k != "default"} == {k: v for k, v in before.items() if k != "default"}


# --- 3 and 4: [DEFAULT] and colliding names: a session never lands where it is every profile's or a long-term key is ----

def test_default_is_refused_as_a_profile_and_as_a_long_term_base(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[readonly]\naws_access_key_id = AKIARO\naws_secret_access_key = ro\n")
    for name, file in (("DEFAULT", "credentials"), ("DEFAULT", "config")):
        with pytest.raises(ValueError, match="'DEFAULT' is refused: .* every other section"):
            awsfiles.set_profile(str(path), file, name, {"aws_session_token": "X"}, [], "present", False)
    with pytest.raises(ValueError, match="'DEFAULT' is refused"):
        awsfiles.IniFile(path.read_text()).set("DEFAULT", {"region": "x"})
    assert "DEFAULT" not in path.read_text()

    text = (f"[DEFAULT-long-term]\naws_access_key_id = AKIADEF\naws_secret_access_key = d\nmfa_serial = {SERIAL}\n"
            f"[dev-long-term]\naws_access_key_id = AKIADEV\naws_secret_access_key = v\nmfa_serial = {SERIAL}\n")
    f = files_at(tmp_path, text)
    sessions = Sessions()
    for profiles in (["all"], ["DEFAULT"]):
        with pytest.raises(ws.WorkstationError, match="'DEFAULT' is refused"):
            lg.login(f, ws.LoginOptions(profiles=profiles, token_codes=codes_for(f)), sessions, lambda: NOW)
    assert sessions.calls == [] and (tmp_path / "credentials").read_text() == text
    # profile dev alone is fine, and [DEFAULT] stays absent
    lg.login(f, ws.LoginOptions(profiles=["dev"], token_codes={"dev": "123456"}), sessions, lambda: NOW)
    assert "DEFAULT" not in botocore_config(tmp_path / "credentials") and botocore_config(tmp_path / "credentials")["dev"]["aws_session_token"]


def test_a_session_that_would_overwrite_another_profiles_long_term_key_is_refused_naming_both(tmp_path):
    text = (f"[a-long-term]\naws_access_key_id = AKIAAAA\naws_secret_access_key = a-secret\nmfa_serial = {SERIAL}\n"
            f"[a-long-term-long-term]\naws_access_key_id = AKIABBB\naws_secret_access_key = b-secret\nmfa_serial = {SERIAL}\n")
    f = files_at(tmp_path, text)
    sessions = Sessions()
    with pytest.raises(ws.WorkstationError, match=r"profiles 'a' and 'a-long-term' collide: .* \[a-long-term\], which holds the long-term key"):
        lg.login(f, ws.LoginOptions(profiles=["all"], token_codes=codes_for(f)), sessions, lambda: NOW)
    assert sessions.calls == [] and (tmp_path / "credentials").read_text() == text
    assert lg.login(f, ws.LoginOptions(profiles=["a"], token_codes={"a": "123456"}), sessions, lambda: NOW)["profiles"][0]["status"] \
        == "authenticated"  # a's own session goes to [a]: no collision
    # A plain long-term key in [NAME] that is not NAME's long-term key is not overwritten either.
    text = (f"[dev]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n"
            f"[dev-long-term]\naws_access_key_id = AKIADEV\naws_secret_access_key = v\nmfa_serial = {SERIAL}\n")
    f = files_at(tmp_path, text)
    with pytest.raises(ws.WorkstationError, match=r"\[dev\] holds a long-term key \(AKIAOTHER\) that is not the key of \[dev-long-term\]"):
        lg.login(f, ws.LoginOptions(profiles=["dev"], token_codes={"dev": "123456"}), sessions, lambda: NOW)


SECTION_NAMES = ["a", "a-long-term", "a-long-term-long-term", "b", "b-long-term", "DEFAULT", "DEFAULT-long-term", "c-long-term"]


@st.composite
def credentials_files(draw):
    """Credentials files whose section names can collide: long-term keys, sessions, or other options, in any order."""
    chunks = []
    for number, name in enumerate(draw(st.lists(st.sampled_from(SECTION_NAMES), unique=True, min_size=1, max_size=6))):
        kind = draw(st.sampled_from(["long-term", "long-term", "session", "other"]))
        if kind == "long-term":
            body = f"aws_access_key_id = AKIA{number:04d}\naws_secret_access_key = secret{number}\nmfa_serial = {SERIAL}\n"
        elif kind == "session":
            body = f"aws_access_key_id = ASIA{number:04d}\naws_secret_access_key = s\naws_session_token = t\nexpiration = 2026-11-23 00:00:00\n"
        else:
            body = "region = eu-west-1\n"
        chunks.append(f"[{name}]\n{body}")
    return "".join(chunks)


def default_options(path):
    """The options of the file's [DEFAULT] sections, which botocore gives to every profile (raw_config_parse lists no DEFAULT)."""
    parser = configparser.RawConfigParser()
    parser.read(path)
    return dict(parser.defaults())


def long_term_keys(path):
    """Every long-term key pair on disk, as botocore reads the profiles (and [DEFAULT], which they inherit)."""
    sections = list(botocore_config(path).values()) + [default_options(path)]
    return {(v["aws_access_key_id"], v["aws_secret_access_key"]) for v in sections
            if v.get("aws_access_key_id", "").startswith("AKIA") and "aws_session_token" not in v}


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(credentials_files())
def test_logging_in_every_profile_of_any_file_keeps_every_long_term_key_and_never_writes_default(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("station")
    f = files_at(folder, text)
    before, defaults = long_term_keys(folder / "credentials"), default_options(folder / "credentials")
    sessions = Sessions()
    try:
        result = lg.login(f, ws.LoginOptions(profiles=["all"], token_codes=codes_for(f)), sessions, lambda: NOW)
    except ws.WorkstationError as e:
        assert sessions.calls == [] and (folder / "credentials").read_text() == text, "refused before any call or write"
        assert any(why in str(e) for why in ("'DEFAULT' is refused", "which holds the long-term key of profile", "holds a long-term key (",
                                             "no long-term profiles"))
        return
    assert long_term_keys(folder / "credentials") == before  # no long-term key lost or changed
    assert default_options(folder / "credentials") == defaults  # nothing written into [DEFAULT]
    after = botocore_config(folder / "credentials")
    for entry in result["profiles"]:
        assert entry["status"] == "authenticated" and after[entry["name"]]["aws_session_token"].startswith("tok-AKIA")


# --- 5. temporary files a killed writer left are removed by every run, unless a writer is at work -----------------------

def test_a_killed_writers_temporary_file_is_removed_by_runs_that_write_nothing(tmp_path):
    path = tmp_path / "credentials"
    text = f"[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = s\nmfa_serial = {SERIAL}\n" \
           "[prod]\naws_session_token = t\nexpiration = 2026-11-23 20:00:00\n"
    path.write_text(text)
    (tmp_path / "credentials.lock").touch()  # the killed writer had taken the lock
    stale = tmp_path / ".credentials.x7k2m9qa.tmp"
    runs = [
        lambda: awsfiles.set_profile(str(path), "credentials", "prod", {"expiration": "2026-11-23 20:00:00"}, [], "present", False),  # no-op
        lambda: awsfiles.set_profile(str(path), "credentials", "prod", {"region": "x"}, [], "present", True),  # check mode
        lambda: awsfiles.set_profile(str(path), "credentials", "gone", {}, [], "absent", False),  # absent, and missing
        lambda: lg.login(lg.read_files(str(path), str(tmp_path / "config")), ws.LoginOptions(profiles=["prod"]), Sessions(), lambda: NOW),
    ]
    for run in runs:
        stale.write_text("[prod-long-term]\naws_secret_access_key = left-behind\n")
        run()
        assert not stale.exists()
    assert path.read_text() == text
    # A writer at work holds the lock: its temporary file is not stale.
    stale.write_text("in progress")
    with open(tmp_path / "credentials.lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        awsfiles.set_profile(str(path), "credentials", "prod", {"region": "x"}, [], "present", True)
        lg.read_files(str(path), str(tmp_path / "config"))
    assert stale.read_text() == "in progress"


# --- 6. a folder that cannot be written is found before a code is spent ----------------------------------------------

LOGIN_IN_READ_ONLY_FOLDER = """
import json, sys
from datetime import datetime, timedelta, timezone
from ansible_collections.awssec.mfa.plugins.module_utils import login as lg, workstation as ws
calls = []
class STS:
    def get_session_token(self, **kwargs):
        calls.append("GetSessionToken")
        raise AssertionError("the code must not be spent")
class Session:
    def client(self, service, once=False):
        return STS()
f = lg.read_files(sys.argv[1] + "/credentials", sys.argv[1] + "/config")
try:
    lg.login(f, ws.LoginOptions(profiles=["prod"], token_codes={"prod": "123456"}), lambda *a: Session(), lambda: datetime.now(timezone.utc))
    print(json.dumps({"error": None, "calls": calls}))
except ws.WorkstationError as e:
    print(json.dumps({"error": str(e), "calls": calls}))
"""


def test_a_folder_that_cannot_be_written_is_refused_before_the_code_is_sent(tmp_path):
    folder = tmp_path / "aws"
    folder.mkdir()
    (folder / "credentials").write_text(f"[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = s\nmfa_serial = {SERIAL}\n")
    (folder / "credentials").chmod(0o600)
    folder.chmod(0o500)
    try:
        # as root, without the capabilities that let root write anywhere (as on a workstation, as its user)
        command = [sys.executable, "-c", LOGIN_IN_READ_ONLY_FOLDER, str(folder)]
        if os.geteuid() == 0:
            command = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", *command]
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=dict(os.environ)).stdout
    finally:
        folder.chmod(0o700)
    answer = json.loads(out)
    assert answer["calls"] == [] and "a file cannot be created and renamed in its folder" in answer["error"]
    assert sorted(p.name for p in folder.iterdir()) == ["credentials"]


# --- 7. an expiration past what Python can hold is an unknown expiry, for that profile only ----------------------------

@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_an_extreme_expiration_is_an_unknown_expiry_for_its_profile_only(tmp_path, value, monkeypatch, capsys):
    text = (f"[odd-long-term]\naws_access_key_id = AKIAODD\naws_secret_access_key = o\nmfa_serial = {SERIAL}\n"
            f"[odd]\naws_access_key_id = ASIAODD\naws_secret_access_key = x\naws_session_token = t\nexpiration = {value}\n"
            f"[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = s\nmfa_serial = {SERIAL}\n"
            f"[prod]\naws_access_key_id = ASIAPROD\naws_secret_access_key = x\naws_session_token = t\nexpiration = 2026-11-23 20:00:00\n")
    assert ws.parse_expiration(value) is None
    f = files_at(tmp_path, text)
    profiles = ws.discover(f, NOW)
    assert (profiles["odd"].session, profiles["prod"].session) == ("unknown", "valid")
    assert [e["session"] for e in profile_listing(profiles, NOW)] == ["unknown", "valid"]
    result = lg.login(f, ws.LoginOptions(profiles=["prod"]), Sessions(), lambda: NOW)
    assert result["profiles"][0]["status"] == "valid"
    # the command line's listing, and the lookup
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    from awssec.tools import mfa_login

    assert mfa_login.main(["--list"]) == 0
    assert "odd" in capsys.readouterr().out
    from ansible.plugins.loader import lookup_loader

    lookup = lookup_loader.get("awssec.mfa.aws_profiles")
    found = {p["name"]: p["session"] for p in lookup.run([], {}, credentials_file=str(tmp_path / "credentials"),
                                                         config_file=str(tmp_path / "config"))}
    assert found == {"odd": "unknown", "prod": found["prod"]} and found["prod"] in ("valid", "expired")


# --- 8. the boto3 sessions of a login never parse the credentials file -------------------------------------------------

def test_sessions_made_from_keys_never_parse_the_shared_credentials_file(tmp_path, monkeypatch):
    import botocore.configloader

    credentials = tmp_path / "credentials"
    credentials.write_text("[prod-long-term]\naws_access_key_id = AKIAPROD\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    parsed = []
    real = botocore.configloader.raw_config_parse
    monkeypatch.setattr(botocore.configloader, "raw_config_parse", lambda path, *a, **k: parsed.append(path) or real(path, *a, **k))
    session = clients.Sessions("http://127.0.0.1:9")("AKIAPROD", "s", None, "eu-west-1")
    session.client("sts", once=True)
    session.client("iam")
    assert str(credentials) not in parsed  # botocore parsed all of it for each session, only to list its profile names


# --- 9. CreateAccessKey is sent once; after a lost answer the keys are listed and what exists is said ------------------

def key(key_id, status="Active", days=400):
    return {"AccessKeyId": key_id, "Status": status, "CreateDate": NOW - timedelta(days=days)}


class LosingIAM:
    """CreateAccessKey is carried out, and its answer lost (a 500)."""

    def __init__(self):
        self.keys, self.calls = [key("AKIAOLD")], []

    def create_access_key(self, UserName, **kwargs):
        from botocore.exceptions import ClientError

        self.calls.append("create")
        self.keys.append(key(f"AKIANEW{len(self.keys)}", days=0))
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "lost"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                          "CreateAccessKey")

    def list_access_keys(self, UserName, aws_retry=False):
        self.calls.append("list")
        return {"AccessKeyMetadata": list(self.keys)}

    def delete_access_key(self, UserName, AccessKeyId, aws_retry=False):
        self.calls.append(("delete", AccessKeyId))
        self.keys = [k for k in self.keys if k["AccessKeyId"] != AccessKeyId]


def test_a_lost_create_answer_is_sent_once_and_the_key_it_made_is_named_and_deleted():
    iam = LosingIAM()
    hooks = r.Hooks(verify=lambda *a: None, sleep=lambda s: None)
    result = r.rotate(iam, "alice", "AKIAOLD", list(iam.keys), [], r.RotateOptions(), hooks, NOW)
    assert iam.calls == ["create", "list", ("delete", "AKIANEW1")]
    assert result["failed_step"] == "create" and "no new key was created" not in result["state"]
    assert result["state"] == "AKIAOLD is still in use and active; the key created without an answer was deleted"
    assert "AKIANEW1 (Active)" in " ".join(s["detail"] for s in result["steps"])
    assert [k["AccessKeyId"] for k in iam.keys] == ["AKIAOLD"] and result["new_access_key_id"] is None
    # When that key cannot be deleted either, the result names it, and a workstation's result the command that deletes it.
    iam = LosingIAM()

    def refused(UserName, AccessKeyId, aws_retry=False):
        from botocore.exceptions import ClientError
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "DeleteAccessKey")
    iam.delete_access_key = refused
    result = r.rotate(iam, "alice", "AKIAOLD", list(iam.keys), [], r.RotateOptions(), hooks, NOW)
    assert result["state"] == "AKIAOLD is still in use and active; the key AKIANEW1 exists, active, with a secret that nobody holds: delete it"
    left = r.two_keys_left(result, "AKIAOLD", "CMD")
    assert left == {"key_in_file": "AKIAOLD", "other_active_key": "AKIANEW1", "next_command": "CMD",
                    "state": result["state"] + ". The file holds AKIAOLD; AKIANEW1 is the other active key: CMD"}


def test_a_throttled_create_is_sent_again_but_a_refused_one_is_not():
    from botocore.exceptions import ClientError

    answers = [ClientError({"Error": {"Code": "Throttling"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "CreateAccessKey"),
               {"AccessKey": {"AccessKeyId": "AKIANEW", "SecretAccessKey": "s"}}]

    def create():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    assert r._create_once(create, lambda s: None)["AccessKey"]["AccessKeyId"] == "AKIANEW"  # pylint: disable=protected-access
    sent = []

    def refused():
        sent.append(1)
        raise ClientError({"Error": {"Code": "LimitExceeded"}, "ResponseMetadata": {"HTTPStatusCode": 409}}, "CreateAccessKey")
    with pytest.raises(ClientError):
        r._create_once(refused, lambda s: None)  # pylint: disable=protected-access
    assert sent == [1]


# --- 10 and 11: rotation in moto: the profile's region, and what a failed rotation leaves ------------------------------

@pytest.fixture
def workstation(tmp_path, monkeypatch):
    """A workstation whose only region is in [profile prod] of the config file; prod's session and key are alice's in moto."""
    from moto import mock_aws

    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    with mock_aws():
        import boto3

        iam = boto3.client("iam", region_name="eu-west-1")
        iam.create_user(UserName="alice")
        made = iam.create_access_key(UserName="alice")["AccessKey"]
        (tmp_path / "credentials").write_text(
            f"[prod-long-term]\naws_access_key_id = {made['AccessKeyId']}\naws_secret_access_key = {made['SecretAccessKey']}\n"
            f"[prod]\naws_access_key_id = {made['AccessKeyId']}\naws_secret_access_key = {made['SecretAccessKey']}\n"
            f"aws_session_token = t\nexpiration = 2999-01-01 00:00:00\n")
        (tmp_path / "config").write_text("[profile prod]\nregion = eu-west-1\n")
        yield iam, made["AccessKeyId"], tmp_path


def run_rotation(tmp_path, **options):
    return r.rotate_profile("prod", r.RotateOptions(force=True, verify_timeout=5, **options), False, datetime.now(timezone.utc),
                            credentials_path=str(tmp_path / "credentials"))


def test_rotation_takes_the_region_of_the_profile_as_login_does(workstation, monkeypatch):
    iam, old, tmp_path = workstation
    regions = []

    class Recording(clients.Sessions):
        def __call__(self, access_key, secret_key, token, region):
            regions.append(region)  # with AWS_ENDPOINT_URL and no region elsewhere, None was "You must specify a region"
            return super().__call__(access_key, secret_key, token, region)
    monkeypatch.setattr(r, "Sessions", Recording)
    result = run_rotation(tmp_path)
    assert regions and set(regions) == {"eu-west-1"}
    assert result["rotated"] and result["key_in_file"] == result["new_access_key_id"] != old
    assert result["other_active_key"] is None and result["next_command"] is None


def test_a_failed_rotation_that_leaves_two_active_keys_names_the_one_in_the_file_and_the_next_command(workstation, monkeypatch):
    iam, old, tmp_path = workstation
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    real = BaseClient._make_api_call

    def deactivation_refused(self, name, params):
        if name == "UpdateAccessKey":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, name)
        return real(self, name, params)
    with monkeypatch.context() as patched:
        patched.setattr(BaseClient, "_make_api_call", deactivation_refused)
        result = run_rotation(tmp_path)
    new = result["new_access_key_id"]
    command = "ansible-playbook awssec.mfa.rotate_keys -e profiles=prod -e extra_keys=delete"
    assert result["failed_step"] == "retire_old" and (result["key_in_file"], result["other_active_key"]) == (new, old)
    assert result["next_command"] == command and result["state"].endswith(f"The file holds {new}; {old} is the other active key: {command}")
    # The next rotation refuses, and says the same.
    with pytest.raises(r.RotateError, match=rf"\[prod-long-term\] of .*credentials holds {new}; to delete the other key and go on: {command}"):
        run_rotation(tmp_path)
    # The command's run (extra_keys=delete) leaves the one key, the file's.
    result = r.rotate_profile("prod", r.RotateOptions(extra_keys="delete"), False, datetime.now(timezone.utc),
                              credentials_path=str(tmp_path / "credentials"))
    keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]}
    assert keys == {new: "Active"} and result["key_in_file"] == new and result["next_command"] is None
