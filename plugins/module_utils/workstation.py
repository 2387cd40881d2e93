# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Workstation profiles: long-term keys under ``NAME-long-term``, MFA sessions under ``NAME``.

Pure functions decide (which profiles exist, their session state, where the MFA serial is,
what key age means); ``login`` runs the one call made with long-term keys
(sts:GetSessionToken), writes the session, and checks the user and key with the session.
Every time is timezone-aware UTC.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles
from ansible_collections.awssec.mfa.plugins.module_utils.records import user_name_from_arn

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # the module reports the missing SDK
    BotoCoreError = ClientError = Exception

LONG_TERM_SUFFIX = "-long-term"
EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S"  # broamski/aws-mfa's, in UTC
SESSION_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token", "expiration")
MFA_SERIAL_KEYS = ("mfa_serial", "aws_mfa_device")
# What an earlier aws-mfa role session leaves in [NAME] and a GetSessionToken session must not keep.
STALE_SESSION_KEYS = ("assumed_role_arn",)
MIN_DURATION, MAX_DURATION = 900, 129600
DEFAULT_DURATION = 43200
DEFAULT_KEY_EXPIRATION_DAYS = 365
ROTATION_WARNING_DAYS = 30
ENV_FILE_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_MFA_SERIAL", "AWS_KEY_EXPIRATION_DAYS")
ENV_PROFILE = "default"  # the profile a .env file's credential stands for


class WorkstationError(Exception):
    """Bad input or local state; the message names the culprit. Raised before any call or write."""


@dataclass
class Profile:
    """A long-term credential and the state of its session, read from local files only."""

    name: str
    long_term: str  # the section (or ".env") holding the long-term key
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: Optional[str] = None
    output: Optional[str] = None
    mfa_serial: Optional[str] = None
    mfa_serial_places: List[str] = field(default_factory=list)
    session: str = "never"  # never, valid, expired, unknown
    expires_at: Optional[datetime] = None


# --- pure: times -----------------------------------------------------------------------------


def parse_expiration(value: Optional[str]) -> Optional[datetime]:
    """An ``expiration`` value as aware UTC: aws-mfa's naive UTC format, or ISO 8601 with an offset or Z."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = datetime.strptime(text, EXPIRATION_FORMAT)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # naive values in these files are UTC
    return parsed.astimezone(timezone.utc)


def format_expiration(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(EXPIRATION_FORMAT)


def format_remaining(seconds: int) -> str:
    """``8h 42m`` (``0m`` for less than a minute)."""
    seconds = max(0, int(seconds))
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def format_duration(seconds: int) -> str:
    """``12 hours, 0 minutes``, as the seed announces a request."""
    return f"{seconds // 3600} hours, {seconds % 3600 // 60} minutes"


def session_state(section: Optional[Dict[str, str]], now: datetime) -> Tuple[str, Optional[datetime]]:
    """(never | valid | expired | unknown, expiry) of a session section."""
    if not section or not (section.get("aws_session_token") or section.get("aws_security_token")):
        return "never", None
    expires = parse_expiration(section.get("expiration"))
    if expires is None:
        return "unknown", None
    return ("valid" if expires > now else "expired"), expires


def remaining_seconds(profile: Profile, now: datetime) -> int:
    return max(0, int((profile.expires_at - now).total_seconds())) if profile.expires_at else 0


def needs_session(profile: Profile, now: datetime, min_remaining: int, force: bool) -> bool:
    return force or profile.session != "valid" or remaining_seconds(profile, now) <= min_remaining


def status_label(profile: Profile, now: datetime) -> str:
    """The seed's ``--list`` label."""
    if profile.session == "never":
        return "Never logged in"
    if profile.session == "valid":
        return f"MFA Valid: {format_remaining(remaining_seconds(profile, now))} remaining"
    if profile.session == "unknown":
        return "Session without expiration"
    return "MFA session expired"


# --- pure: keys ------------------------------------------------------------------------------


def key_rotation(age_days: Optional[int], expiration_days: int) -> Tuple[str, Optional[int]]:
    """(ok | recommended | required, days until the key reaches ``expiration_days``)."""
    if age_days is None:
        return "ok", None
    left = expiration_days - age_days
    if left < 0:
        return "required", left
    if left <= ROTATION_WARNING_DAYS:
        return "recommended", left
    return "ok", left


def key_findings(keys: List[dict], key_in_use: str, expiration_days: int, now: datetime) -> dict:
    """Age and rotation state of the key in use, and the warnings about the user's other keys."""
    warnings = []
    mine = next((k for k in keys if k.get("AccessKeyId") == key_in_use), None)
    age = None
    if mine is None:
        warnings.append(f"The key in use ({key_in_use}) is not among the user's access keys")
    else:
        created = mine["CreateDate"]
        created = created if created.tzinfo else created.replace(tzinfo=timezone.utc)
        age = (now - created).days
    rotation, left = key_rotation(age, expiration_days)
    active = [k for k in keys if k.get("Status") == "Active"]
    extra = [k for k in keys if k.get("AccessKeyId") != key_in_use]
    if len(active) > 1:
        warnings.append("Multiple access keys detected! Only ONE key should be active.")
        warnings.append(f"Current key in use: {key_in_use}")
        warnings.extend(f"  -> Extra key: {k['AccessKeyId']} (Status: {k.get('Status')})" for k in extra)
    return {
        "key_age_days": age,
        "key_rotation": rotation,
        "key_expires_in_days": left,
        "extra_keys": [{"access_key_id": k["AccessKeyId"], "status": k.get("Status")} for k in extra],
        "warnings": warnings,
    }


def check_token_code(name: str, code) -> str:
    """The code exactly as it will be sent: six ASCII digits, nothing around them (no other script's digits, no newline)."""
    code = "" if code is None else str(code)
    if not re.fullmatch(r"[0-9]{6}", code):
        raise WorkstationError(f"the MFA token code for profile {name!r} must be 6 digits (0-9) and nothing else")
    return code


def check_names(names: Iterable[str], suffix: str) -> None:
    """WorkstationError naming the first profile name (or the long-term suffix) that could break out of its [section]."""
    try:
        awsfiles.check_name(suffix, "long_term_suffix")
        for name in names:
            awsfiles.check_name(name)
    except ValueError as e:
        raise WorkstationError(str(e))


def check_duration(seconds: int) -> int:
    if not MIN_DURATION <= int(seconds) <= MAX_DURATION:
        raise WorkstationError(f"duration_seconds={seconds} is out of range: GetSessionToken accepts {MIN_DURATION} to {MAX_DURATION}")
    return int(seconds)


# --- reading the local files -----------------------------------------------------------------


@dataclass
class Files:
    credentials_path: str
    config_path: str
    credentials: awsfiles.IniFile
    config: awsfiles.IniFile
    env_path: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict, repr=False)


def read_env_file(path: str) -> Dict[str, str]:
    """The .env values this tool uses, read with python-dotenv."""
    if not os.path.isfile(path):
        raise WorkstationError(f"env_file {path} does not exist")
    try:
        from dotenv import dotenv_values
    except ImportError:
        raise WorkstationError("env_file needs the python-dotenv package")
    values = dotenv_values(path)
    return {k: str(v) for k, v in values.items() if k in ENV_FILE_KEYS and v is not None}


def read_files(credentials_path: str, config_path: str, env_path: Optional[str] = None) -> Files:
    env = read_env_file(env_path) if env_path else {}
    return Files(credentials_path, config_path, awsfiles.read(credentials_path), awsfiles.read(config_path), env_path, env)


def key_expiration_days(option: Optional[int], files: Optional[Files] = None, environ=None) -> int:
    """The option, else AWS_KEY_EXPIRATION_DAYS from the environment, then from the .env file, else 365."""
    if option is not None:
        return int(option)
    environ = os.environ if environ is None else environ
    env_file = (files.env_path, files.env.get("AWS_KEY_EXPIRATION_DAYS")) if files else (None, None)
    for source, value in (("AWS_KEY_EXPIRATION_DAYS", environ.get("AWS_KEY_EXPIRATION_DAYS")),
                          (f"AWS_KEY_EXPIRATION_DAYS in {env_file[0]}", env_file[1])):
        if value not in (None, ""):
            if not str(value).strip().isdigit():
                raise WorkstationError(f"{source}={value!r} is not a whole number of days")
            return int(value)
    return DEFAULT_KEY_EXPIRATION_DAYS


def find_mfa_serial(name: str, long_term: str, files: Files) -> Tuple[Optional[str], List[str]]:
    """The MFA device ARN of a profile, and every place looked at, in order: config first, then credentials."""
    places = [(files.config, files.config_path, awsfiles.config_section(files.config, long_term)), (files.config, files.config_path, long_term),
              (files.credentials, files.credentials_path, long_term)]
    looked = []
    for ini, path, section in places:
        values = ini.get(section) or {}
        for key in MFA_SERIAL_KEYS:
            looked.append(f"{key} in [{section}] of {path}")
            if values.get(key):
                return values[key].strip(), looked
    if name == ENV_PROFILE and files.env_path:
        looked.append(f"AWS_MFA_SERIAL in {files.env_path}")
        if files.env.get("AWS_MFA_SERIAL"):
            return files.env["AWS_MFA_SERIAL"].strip(), looked
    return None, looked


def discover(files: Files, now: datetime, suffix: str = LONG_TERM_SUFFIX) -> Dict[str, Profile]:
    """Every long-term profile (a ``*suffix`` section with both keys and no session token), by short name.

    A .env file's credential stands for profile ``default`` when there is no ``[default<suffix>]``.
    """
    found: Dict[str, Tuple[str, Dict[str, str]]] = {}
    for section in files.credentials.names():
        values = files.credentials.get(section) or {}
        if (section.endswith(suffix) and len(section) > len(suffix) and values.get("aws_access_key_id")
                and values.get("aws_secret_access_key") and not values.get("aws_session_token")):
            found[section[:-len(suffix)]] = (section, values)
    if files.env.get("AWS_ACCESS_KEY_ID") and files.env.get("AWS_SECRET_ACCESS_KEY") and ENV_PROFILE not in found:
        found[ENV_PROFILE] = (files.env_path, {"aws_access_key_id": files.env["AWS_ACCESS_KEY_ID"],
                                               "aws_secret_access_key": files.env["AWS_SECRET_ACCESS_KEY"]})
    profiles = {}
    for name in sorted(found):
        long_term, values = found[name]
        serial, places = find_mfa_serial(name, long_term, files)
        config = files.config.get(awsfiles.config_section(files.config, long_term)) or files.config.get(long_term) or {}
        region = values.get("region") or config.get("region") or (files.env.get("AWS_DEFAULT_REGION") if long_term == files.env_path else None)
        state, expires = session_state(files.credentials.get(name), now)
        profiles[name] = Profile(name, long_term, values["aws_access_key_id"].strip(), values["aws_secret_access_key"].strip(),
                                 region, values.get("output") or config.get("output"), serial, places, state, expires)
    return profiles


def select(profiles: Dict[str, Profile], wanted, files: Files, suffix: str) -> List[Profile]:
    """The requested profiles (``all`` or names); an unknown name is an error naming what exists."""
    every = wanted in ("all", ["all"])
    names = list(profiles) if every else list(dict.fromkeys(wanted))
    check_names([] if every else names, suffix)  # names given by the caller; those found in the file are sections already
    unknown = [n for n in names if n not in profiles]
    if unknown:
        where = files.credentials_path if os.path.exists(files.credentials_path) else f"{files.credentials_path} (which does not exist)"
        known = ", ".join(profiles) or "none"
        raise WorkstationError(f"unknown profile {unknown[0]!r}: no [{unknown[0]}{suffix}] section with aws_access_key_id and "
                               f"aws_secret_access_key in {where}" + (f" or {files.env_path}" if files.env_path else "")
                               + f" (long-term profiles found: {known})")
    if not names:
        raise WorkstationError(f"no long-term profiles (sections named NAME{suffix}) in {files.credentials_path}")
    return [profiles[n] for n in names]


def session_values(credentials: dict) -> Dict[str, str]:
    """The section written for a session; ``aws_security_token`` repeats the token, since botocore reads it first.

    ``assumed_role = False`` is aws-mfa's mark of a GetSessionToken session: without it, aws-mfa
    takes the session for invalid, asks for a new code and rewrites the whole file.
    """
    expires = credentials["Expiration"]
    expires = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
        "aws_security_token": credentials["SessionToken"],
        "expiration": format_expiration(expires),
        "assumed_role": "False",
    }


def inherited_values(profile: Profile, files: Files) -> Dict[str, str]:
    """The long-term profile's region and output, for a session profile that has none of its own.

    They go to the session profile's section of the config file, where ``aws configure set`` and
    aws_profile write them, so ``aws --profile NAME`` works with no region configured elsewhere.
    (In [NAME] of the credentials file, which botocore also reads, they would shadow a region
    set later in the config file.)
    """
    own = {**(files.config.get(awsfiles.config_section(files.config, profile.name)) or {}), **(files.credentials.get(profile.name) or {})}
    return {key: value for key, value in (("region", profile.region), ("output", profile.output)) if value and not own.get(key)}


# --- the login ------------------------------------------------------------------------------


@dataclass
class LoginOptions:
    profiles: object = "all"
    token_codes: Dict[str, str] = field(default_factory=dict, repr=False)
    duration_seconds: int = DEFAULT_DURATION
    force: bool = False
    min_remaining_seconds: int = 300
    key_expiration_days: Optional[int] = None
    long_term_suffix: str = LONG_TERM_SUFFIX
    region: Optional[str] = None


def _result(profile: Profile, now: datetime, status: str, **extra) -> dict:
    entry = {
        "name": profile.name,
        "long_term_profile": profile.long_term,
        "status": status,
        "access_key_id": profile.access_key_id,
        "expires_at": profile.expires_at.isoformat() if profile.expires_at else None,
        "remaining_seconds": remaining_seconds(profile, now),
        "remaining": format_remaining(remaining_seconds(profile, now)) if profile.expires_at else None,
        "user": None, "account": None, "key_age_days": None, "key_rotation": None, "key_expires_in_days": None,
        "extra_keys": [], "warnings": [], "error": None,
    }
    entry.update(extra)
    return entry


def plan(files: Files, options: LoginOptions, now: datetime, check_mode: bool) -> Tuple[List[Profile], List[Profile]]:
    """(profiles to refresh, profiles whose session is still valid); every input checked, nothing called."""
    check_duration(options.duration_seconds)
    profiles = select(discover(files, now, options.long_term_suffix), options.profiles, files, options.long_term_suffix)
    refresh = [p for p in profiles if needs_session(p, now, options.min_remaining_seconds, options.force)]
    if refresh:  # before a code is asked for or spent
        try:
            awsfiles.check_writable(files.credentials_path)
        except awsfiles.FileError as e:
            raise WorkstationError(str(e))
    for profile in refresh:
        if not profile.mfa_serial:
            raise WorkstationError(f"no MFA device for profile {profile.name!r}: looked for " + "; ".join(profile.mfa_serial_places))
        if profile.name in options.token_codes or not check_mode:
            check_token_code(profile.name, options.token_codes.get(profile.name))
    return refresh, [p for p in profiles if p not in refresh]


def login(files: Files, options: LoginOptions, session_factory: Callable, now: Callable[[], datetime],
          check_mode: bool = False) -> dict:
    """Get a session for each profile that needs one, write it to ``[NAME]``, and check the user and key.

    ``session_factory(access_key, secret_key, token, region)`` returns a boto3 Session. Bad input
    raises WorkstationError before any call or write; a failing profile is reported and the others go on.
    """
    started = now()
    refresh, valid = plan(files, options, started, check_mode)
    expiration_days = key_expiration_days(options.key_expiration_days, files)
    order = {p.name: i for i, p in enumerate(refresh + valid)}
    results = [_result(p, started, "valid") for p in valid]
    changed = False
    for profile in refresh:
        if check_mode:
            results.append(_result(profile, started, "pending"))
            continue
        entry, wrote = _login_one(profile, files, options, session_factory, now, expiration_days)
        changed = changed or wrote
        results.append(entry)
    results.sort(key=lambda r: order[r["name"]])
    return {"changed": changed, "profiles": results, "key_expiration_days": expiration_days,
            "duration_seconds": options.duration_seconds, "credentials_file": files.credentials_path}


def _login_one(profile: Profile, files: Files, options: LoginOptions, session_factory, now, expiration_days) -> Tuple[dict, bool]:
    region = options.region or profile.region or files.env.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    long_term = session_factory(profile.access_key_id, profile.secret_access_key, None, region)
    try:
        response = long_term.client("sts", once=True).get_session_token(
            DurationSeconds=options.duration_seconds, SerialNumber=profile.mfa_serial,
            TokenCode=options.token_codes[profile.name])
    except (BotoCoreError, ClientError) as e:
        return _result(profile, now(), "failed", error=f"sts:GetSessionToken failed for profile {profile.name!r}: {_reason(e)}"), False
    values = session_values(response["Credentials"])
    try:
        awsfiles.update(files.credentials_path, lambda ini: ini.set(profile.name, values, remove=STALE_SESSION_KEYS))
    except awsfiles.FileError as e:
        return _result(profile, now(), "failed", error=f"the session could not be written: {e}"), False
    profile.session, profile.expires_at = "valid", parse_expiration(values["expiration"])
    entry = _result(profile, now(), "authenticated")
    inherited = inherited_values(profile, files)
    if inherited:
        try:
            awsfiles.update(files.config_path, lambda ini: ini.set(awsfiles.config_section(ini, profile.name), inherited))
        except awsfiles.FileError as e:
            entry["warnings"].append(f"the long-term profile's {' and '.join(inherited)} could not be given to the session profile: {e}")
    session = session_factory(values["aws_access_key_id"], values["aws_secret_access_key"], values["aws_session_token"], region)
    try:
        arn = session.client("sts").get_caller_identity()
        entry["account"] = arn["Account"]
        entry["user"] = user_name_from_arn(arn["Arn"])
        if entry["user"] is None:
            entry["warnings"].append(f"the session is not an IAM user's ({arn['Arn']}): key age not checked")
            return entry, True
        keys = session.client("iam").list_access_keys(UserName=entry["user"])["AccessKeyMetadata"]
    except (BotoCoreError, ClientError) as e:
        entry["warnings"].append(f"could not check the user and access key with the session: {_reason(e)}")
        return entry, True
    findings = key_findings(keys, profile.access_key_id, expiration_days, now())
    entry["warnings"].extend(findings.pop("warnings"))
    entry.update(findings)
    return entry, True


def _reason(exception) -> str:
    error = getattr(exception, "response", {}).get("Error", {}) if hasattr(exception, "response") else {}
    if error:
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(exception)


def render_login(result: dict, quiet: bool = False) -> List[str]:
    """The seed's per-profile lines for a login result (also for check mode: who would be asked for a code)."""
    lines = []
    for p in result.get("profiles", []):
        if not quiet:
            lines += ["=" * 60, f"Profile: {p['name']}", "=" * 60]
        if p["status"] == "valid":
            lines.append(f"✓ Session still valid for {p['remaining']}")
        elif p["status"] == "pending":
            lines.append("→ Would request a new session (needs an MFA code)")
        elif p["status"] == "failed":
            lines.append(f"✗ {p['error']}")
        else:
            lines.append(f"ℹ Requesting session token for {format_duration(result.get('duration_seconds', DEFAULT_DURATION))}...")
            lines.append(f"✓ Authentication successful! (use profile: {p['name']})")
            if p.get("user") or p.get("account"):
                lines.append(f"ℹ User: {p.get('user')} | Account: {p.get('account')}")
            lines.extend(_key_line(p, result.get("key_expiration_days", DEFAULT_KEY_EXPIRATION_DAYS)))
        lines.extend(f"⚠ {w}" for w in p.get("warnings", []))
    return lines


def _key_line(p: dict, expiration_days: int) -> List[str]:
    age = p.get("key_age_days")
    if age is None:
        return []
    if p.get("key_rotation") == "required":
        return [f"⚠ Access key age: {age} days - KEY ROTATION REQUIRED (exceeded {expiration_days} days)"]
    if p.get("key_rotation") == "recommended":
        return [f"⚠ Access key age: {age} days - KEY ROTATION RECOMMENDED (expires in {p['key_expires_in_days']} days)"]
    return [f"ℹ Access key age: {age} days"]


def profile_listing(profiles: Dict[str, Profile], now: datetime) -> List[dict]:
    """The seed's ``--list``: one entry per long-term profile with its session state."""
    return [{
        "name": p.name,
        "long_term_profile": p.long_term,
        "session": p.session,
        "expires_at": p.expires_at.isoformat() if p.expires_at else None,
        "remaining_seconds": remaining_seconds(p, now),
        "remaining": format_remaining(remaining_seconds(p, now)) if p.session == "valid" else None,
        "mfa_serial": p.mfa_serial,
        "label": f"{p.name} [{status_label(p, now)}]",
    } for p in profiles.values()]


class Sessions:
    """Makes boto3 sessions from explicit keys (never a profile), counting every request their clients send.

    ``Sessions(...)(key, secret, token, region).client("sts", once=True)`` gives a client that never retries:
    a request carrying a TOTP code must not be sent twice (AWS rejects a reused code).
    """

    def __init__(self, endpoint_url: Optional[str] = None, counter=None) -> None:
        self.endpoint_url = endpoint_url
        self.counter = counter

    def __call__(self, access_key: str, secret_key: str, token: Optional[str], region: str):
        import boto3
        import botocore.session
        from botocore.configprovider import ConstantProvider

        # The keys are explicit: no profile is looked up, whatever AWS_PROFILE names (maybe the one being created),
        # and the process's environment is left as it is.
        core = botocore.session.Session()
        core.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
        session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                        aws_session_token=token, region_name=region, botocore_session=core)
        return _Session(session, self)


class _Session:
    def __init__(self, session, sessions: Sessions) -> None:
        self._session = session
        self._sessions = sessions

    def client(self, service: str, once: bool = False):
        from botocore.config import Config

        # total_max_attempts counts the first request: botocore's max_attempts of 1 still allowed one retry.
        config = Config(retries={"total_max_attempts": 1 if once else 6, "mode": "standard"})
        client = self._session.client(service, endpoint_url=self._sessions.endpoint_url, config=config)
        if self._sessions.counter is not None:
            self._sessions.counter.watch(client)
        return client


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
