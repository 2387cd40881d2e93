# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Workstation profiles, the decisions: long-term keys under ``NAME-long-term``, MFA sessions under ``NAME``.

Functions of the parsed files and the time, with no call to AWS and no write: which profiles
exist, their session state, where the MFA serial is, what key age means, what a session section
holds, and which profiles a login refreshes (``plan``, which also checks every input and that
the credentials file may be written). Every time is timezone-aware UTC.
The other homes: ``login`` (reading the files, the call, the write), ``clients`` (the boto3
sessions), ``workstation_render`` (the lines and listings printed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles, keystore
from ansible_collections.awssec.mfa.plugins.module_utils.records import days_between, key_too_old

LONG_TERM_SUFFIX = "-long-term"
EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S"  # broamski/aws-mfa's, in UTC
MFA_SERIAL_KEYS = ("mfa_serial", "aws_mfa_device")
# What an earlier aws-mfa role session leaves in [NAME] and a GetSessionToken session must not keep.
STALE_SESSION_KEYS = ("assumed_role_arn",)
MIN_DURATION, MAX_DURATION = 900, 129600
# A role session: AssumeRole's range, its default (the aws CLI's and aws-mfa's), and AWS's limit for a role assumed with
# temporary credentials (here: a GetSessionToken session, so that one MFA code serves several roles).
ROLE_MAX_DURATION, ROLE_DEFAULT_DURATION, ROLE_CHAINING_LIMIT = 43200, 3600, 3600
ROLE_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
# Where a profile's role is defined: the aws CLI's keys (role_arn with source_profile) or aws-mfa's (assume_role beside the keys).
ROLE_ARN_KEYS = ("role_arn", "assume_role")
DEFAULT_DURATION = 43200
DEFAULT_KEY_EXPIRATION_DAYS = 365
ROTATION_WARNING_DAYS = 30
ENV_FILE_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_MFA_SERIAL", "AWS_KEY_EXPIRATION_DAYS")
ENV_PROFILE = "default"  # the profile a .env file's credential stands for


class WorkstationError(Exception):
    """Bad input or local state; the message names the culprit. Raised before any call or write."""


@dataclass
class Role:
    """The role a profile's session is of (the aws CLI's own role profile keys), and where it is defined."""

    arn: str
    defined_in: str  # "[profile admin-long-term] of ~/.aws/config"
    session_name: Optional[str] = None
    external_id: Optional[str] = None
    duration_seconds: Optional[str] = None  # as written; checked by check_role


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
    session: str = "never"  # never, valid, expired, unknown, other (a session of another role, or a role's of the user)
    expires_at: Optional[datetime] = None
    role: Optional[Role] = None  # a role session's profile: AssumeRole with the long-term key and the MFA device


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
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is past the last moment Python can hold in UTC: an unknown expiry
        return None


def format_expiration(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(EXPIRATION_FORMAT)


def session_state(section: Optional[Dict[str, str]], now: datetime, role_arn: Optional[str] = None) -> Tuple[str, Optional[datetime]]:
    """(never | valid | expired | unknown | other, expiry) of a session section, for a profile whose sessions are of role
    ``role_arn`` (None: the user's own, GetSessionToken). ``other``: a session of another role, or of the user when a
    role's is wanted (aws-mfa's ``assumed_role_arn`` says which), which a login replaces as aws-mfa does."""
    if not section or not (section.get("aws_session_token") or section.get("aws_security_token")):
        return "never", None
    expires = parse_expiration(section.get("expiration"))
    if (section.get("assumed_role_arn") or "").strip() != (role_arn or ""):
        return "other", expires
    if expires is None:
        return "unknown", None
    return ("valid" if expires > now else "expired"), expires


def remaining_seconds(profile: Profile, now: datetime) -> int:
    return max(0, int((profile.expires_at - now).total_seconds())) if profile.expires_at else 0


def needs_session(profile: Profile, now: datetime, min_remaining: int, force: bool) -> bool:
    return force or profile.session != "valid" or remaining_seconds(profile, now) <= min_remaining


# --- pure: keys ------------------------------------------------------------------------------


def key_rotation(age_days: Optional[int], expiration_days: int) -> Tuple[str, Optional[int]]:
    """(ok | recommended | required, days until the key reaches ``expiration_days``)."""
    if age_days is None:
        return "ok", None
    left = expiration_days - age_days
    if key_too_old(age_days, expiration_days):
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
        age = days_between(mine["CreateDate"], now)
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


def check_token_code(name: str, code, group: Iterable[str] = ()) -> str:
    """The code exactly as it will be sent: six ASCII digits, nothing around them (no other script's digits, no newline).
    ``group``: the profiles this one code serves (named in the error when more than one)."""
    code = "" if code is None else str(code)
    if not re.fullmatch(r"[0-9]{6}", code):
        served = list(group)
        also = f" (one code for profiles {', '.join(served)}: one long-term key and MFA device)" if len(served) > 1 else ""
        raise WorkstationError(f"the MFA token code for profile {name!r}{also} must be 6 digits (0-9) and nothing else")
    return code


def check_names(names: Iterable[str], suffix: str) -> None:
    """WorkstationError naming the first profile name (or the long-term suffix) that could break out of its [section]."""
    try:
        awsfiles.check_name(suffix, "long_term_suffix")
        for name in names:
            awsfiles.check_name(name)
    except ValueError as e:
        raise WorkstationError(str(e)) from e


def check_role(profile: Profile) -> None:
    """WorkstationError naming the place of a role profile's duration_seconds or role_session_name that AssumeRole would refuse."""
    role = profile.role
    if role.duration_seconds is not None:
        text = str(role.duration_seconds).strip()
        if not text.isdigit() or not MIN_DURATION <= int(text) <= ROLE_MAX_DURATION:
            raise WorkstationError(f"duration_seconds = {role.duration_seconds} in {role.defined_in} is out of range: AssumeRole accepts "
                                   f"{MIN_DURATION} to {ROLE_MAX_DURATION} seconds")
    if not ROLE_SESSION_NAME.fullmatch(role_session_name(profile)):
        raise WorkstationError(f"role_session_name = {role.session_name} in {role.defined_in} is not a role session name: 2 to 64 "
                               "letters, digits and +=,.@_- only")


def role_session_name(profile: Profile, user: Optional[str] = None) -> str:
    """The profile's role_session_name, else ``awssec-mfa-`` and the local user's name (as far as a session name may hold it)."""
    if profile.role.session_name:
        return profile.role.session_name.strip()
    if user is None:
        import getpass  # pylint: disable=import-outside-toplevel
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "user"
    return ("awssec-mfa-" + re.sub(r"[^\w+=,.@-]", "-", user))[:64]


def role_duration(profile: Profile, chained: bool) -> int:
    """The DurationSeconds of a role profile's AssumeRole: its duration_seconds (else 3600), at most an hour when chained."""
    asked = int(str(profile.role.duration_seconds).strip()) if profile.role.duration_seconds is not None else ROLE_DEFAULT_DURATION
    return min(asked, ROLE_CHAINING_LIMIT) if chained else asked


def check_duration(seconds: int) -> int:
    if not MIN_DURATION <= int(seconds) <= MAX_DURATION:
        raise WorkstationError(f"duration_seconds={seconds} is out of range: GetSessionToken accepts {MIN_DURATION} to {MAX_DURATION}")
    return int(seconds)


# --- profiles in the parsed files ------------------------------------------------------------


@dataclass
class Files:
    credentials_path: str
    config_path: str
    credentials: awsfiles.IniFile
    config: awsfiles.IniFile
    env_path: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict, repr=False)


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


def keyring_keys(section: str) -> Tuple[str, str]:
    """The key pair the OS keyring keeps for ``section`` (long_term_store keyring); WorkstationError when there is no usable
    keyring or no key there."""
    try:
        pair = keystore.load(keystore.backend(), section)
    except keystore.KeystoreError as e:
        raise WorkstationError(f"[{section}] keeps its key in the keyring ({keystore.MARKER} = keyring), which cannot be read: {e}") from e
    if pair is None:
        raise WorkstationError(f"[{section}] keeps its key in the keyring ({keystore.MARKER} = keyring), but the keyring holds none for it: "
                               "store it again (awssec.mfa.aws_profile with long_term_store keyring)")
    return pair


def keyring_session(name: str) -> Optional[Dict[str, str]]:
    """The session the OS keyring keeps for profile ``name`` (session_store credential_process); None when there is none
    or no keyring to ask (the profile then needs a session)."""
    try:
        return keystore.load_session(keystore.backend(), name)
    except keystore.KeystoreError:
        return None


def served_by_keyring(files: Files, name: str) -> bool:
    """Whether the config file's profile ``name`` gets its session from the keyring (credential_process awssec-credentials)."""
    values = files.config.get(awsfiles.config_section(files.config, name)) or {}
    return values.get("credential_process", "").strip().startswith(keystore.CREDENTIAL_PROCESS + " ")


def holds_key_pair(values: Dict[str, str]) -> bool:
    """Whether a section's values are a long-term key pair: both keys, and no session token."""
    return bool(values.get("aws_access_key_id") and values.get("aws_secret_access_key") and not values.get("aws_session_token"))


def long_term_values(files: Files, section: str, keys_of: Callable[[str], Tuple[str, str]]) -> Optional[Dict[str, str]]:
    """The credentials file's ``[section]`` when it holds a long-term key pair and no session token (its keys from
    ``keys_of(section)`` when the OS keyring keeps them), else None."""
    values = files.credentials.get(section) or {}
    if values.get(keystore.MARKER) == "keyring" and not values.get("aws_access_key_id") and not values.get("aws_session_token"):
        values = dict(values, **dict(zip(keystore.KEY_OPTIONS, keys_of(section))))
    return values if holds_key_pair(values) else None


def role_definition(files: Files, section: str) -> Tuple[Optional[Role], Optional[str]]:
    """(the role, its source_profile) that long-term ``section`` defines, as the aws CLI writes a role profile (role_arn,
    source_profile, mfa_serial, duration_seconds, role_session_name, external_id; in the config file or, as botocore also
    reads them, the credentials file) or as aws-mfa does (assume_role beside the keys); (None, None) for a plain one."""
    config = long_term_config(files, section)
    credentials = files.credentials.get(section) or {}
    merged = {**config, **credentials}  # botocore's precedence: the credentials file's values over the config file's
    key = next((k for k in ROLE_ARN_KEYS if (merged.get(k) or "").strip()), None)
    if key is None:
        return None, None
    arn = merged[key].strip()
    named = awsfiles.config_section(files.config, section)
    if (credentials.get(key) or "").strip():
        where = f"[{section}] of {files.credentials_path}"
    else:
        where = f"[{named if files.config.get(named) is not None else section}] of {files.config_path}"
    return (Role(arn, where, merged.get("role_session_name"), merged.get("external_id"), merged.get("duration_seconds")),
            (merged.get("source_profile") or "").strip() or None)


def role_source(files: Files, role: Role, source: Optional[str], section: str, suffix: str,
                keys_of: Callable[[str], Tuple[str, str]]) -> Tuple[str, Dict[str, str]]:
    """(the section, its values) of the long-term key a role profile assumes its role with: its source_profile, as a
    section (``prod-long-term``) or a short name (``prod``), else its own section's key."""
    for candidate in (source, source + suffix) if source and source != section else (section,):
        values = long_term_values(files, candidate, keys_of)
        if values is not None:
            return candidate, values
    what = f"source_profile {source!r}" if source and source != section else "no source_profile and no key of its own"
    raise WorkstationError(f"the role profile {role.defined_in} has {what}: a role session needs a long-term key (aws_access_key_id "
                           f"and aws_secret_access_key, or the keyring's) in [{source if source else section}]"
                           + (f" or [{source}{suffix}]" if source and source != section else "") + f" of {files.credentials_path}")


def discover(files: Files, now: datetime, suffix: str = LONG_TERM_SUFFIX, only: Optional[Iterable[str]] = None,
             keys_of: Callable[[str], Tuple[str, str]] = keyring_keys,
             sessions_of: Callable[[str], Optional[Dict[str, str]]] = keyring_session) -> Dict[str, Profile]:
    """Every long-term profile (a ``*suffix`` section with both keys and no session token, or whose keys the OS keyring
    keeps: ``keys_of(section)``; or one that defines a role, see ``role_definition``), by short name; with ``only``, those
    of these names (a login of one profile in a file of thousands reads that profile alone). The session of a profile
    served by credential_process is ``sessions_of(name)``. A role profile whose long-term key cannot be found is an error
    naming it.

    A .env file's credential stands for profile ``default`` when there is no ``[default<suffix>]``.
    """
    found: Dict[str, Tuple[str, str, Dict[str, str], Optional[Role]]] = {}
    if only is None:
        sections = files.credentials.names() + [p for p in files.config.profile_sections() if p.endswith(suffix)]
    else:
        sections = [n + suffix for n in only]
    for section in dict.fromkeys(sections):
        if not (section.endswith(suffix) and len(section) > len(suffix)):
            continue
        role, source = role_definition(files, section)
        if role is None:
            values = long_term_values(files, section, keys_of)
            if values is not None:
                found[section[:-len(suffix)]] = (section, section, values, None)
        else:
            found[section[:-len(suffix)]] = (section, *role_source(files, role, source, section, suffix, keys_of), role)
    if (files.env.get("AWS_ACCESS_KEY_ID") and files.env.get("AWS_SECRET_ACCESS_KEY") and ENV_PROFILE not in found
            and (only is None or ENV_PROFILE in only)):
        found[ENV_PROFILE] = (files.env_path, files.env_path, {"aws_access_key_id": files.env["AWS_ACCESS_KEY_ID"],
                                                               "aws_secret_access_key": files.env["AWS_SECRET_ACCESS_KEY"]}, None)
    profiles = {}
    for name in sorted(found):
        own, long_term, values, role = found[name]
        serial, places = find_mfa_serial(name, own, files)
        if serial is None and long_term != own:  # a role profile's device, else its source's (the same user's)
            serial, more = find_mfa_serial(name, long_term, files)
            places += more
        config = long_term_config(files, own)
        region = long_term_region(files, own, files.credentials.get(own) or {}, config) or long_term_region(
            files, long_term, values, long_term_config(files, long_term))
        arn = role.arn if role else None
        state, expires = session_state(files.credentials.get(name), now, arn)
        if state == "never" and served_by_keyring(files, name):
            state, expires = session_state(sessions_of(name), now, arn)
        output = (files.credentials.get(own) or {}).get("output") or config.get("output") or values.get("output") \
            or long_term_config(files, long_term).get("output")
        profiles[name] = Profile(name, long_term, values["aws_access_key_id"].strip(), values["aws_secret_access_key"].strip(),
                                 region, output, serial, places, state, expires, role)
    return profiles


def session_conflict(profile: Profile, files: Files, suffix: str) -> Optional[str]:
    """Why the session of ``profile`` must not be written to ``[NAME]``, or None.

    A section that holds a long-term key (another profile's ``[X-long-term]``, or keys without a
    session token other than this profile's own) would lose it: with ``[a-long-term]`` and
    ``[a-long-term-long-term]``, the session of profile ``a-long-term`` would overwrite profile
    ``a``'s long-term key. (``[DEFAULT]`` is refused as a profile by ``check_names``.)
    """
    held = files.credentials.get(profile.name) or {}
    key_id = (held.get("aws_access_key_id") or "").strip()
    if held.get("aws_session_token") or held.get("aws_security_token") or not key_id or key_id.startswith("ASIA"):
        return None  # a session, or no key: temporary keys (ASIA...) are not kept anywhere else either way
    if profile.name.endswith(suffix) and len(profile.name) > len(suffix) and held.get("aws_secret_access_key"):
        return (f"profiles {profile.name[:-len(suffix)]!r} and {profile.name!r} collide: the session of {profile.name!r} would be "
                f"written to [{profile.name}], which holds the long-term key of profile {profile.name[:-len(suffix)]!r}; rename "
                f"[{profile.long_term}]")
    if key_id != profile.access_key_id:
        return (f"[{profile.name}] holds a long-term key ({key_id}) that is not the key of "
                f"[{profile.long_term}] ({profile.access_key_id}): the session of profile {profile.name!r} would overwrite it; "
                f"move that key to a section of its own")
    return None


def long_term_config(files: Files, long_term: str) -> Dict[str, str]:
    """The config file's section for a long-term profile: ``[profile NAME-long-term]`` (as botocore names it), else ``[NAME-long-term]``."""
    return files.config.get(awsfiles.config_section(files.config, long_term)) or files.config.get(long_term) or {}


def long_term_region(files: Files, long_term: str, values: Dict[str, str], config: Dict[str, str]) -> Optional[str]:
    """The region of a long-term profile: its section (``values``), then its config section (``config``), then a .env file's."""
    return values.get("region") or config.get("region") or (files.env.get("AWS_DEFAULT_REGION") if long_term == files.env_path else None)


def profile_region(files: Files, name: str, long_term: str) -> Optional[str]:
    """The region of profile ``name`` as its own config section sets it, else as its long-term profile's (as a login takes
    it); None leaves it to botocore (AWS_DEFAULT_REGION)."""
    own = (files.config.get(awsfiles.config_section(files.config, name)) or {}).get("region")
    return own or long_term_region(files, long_term, files.credentials.get(long_term) or {}, long_term_config(files, long_term))


def select(files: Files, wanted, now: datetime, suffix: str) -> List[Profile]:
    """The requested profiles (``all`` or names), discovered; an unknown name is an error naming what exists."""
    every = wanted in ("all", ["all"])
    if not every:
        check_names(wanted, suffix)  # names given by the caller; those found in the file are sections already
    profiles = discover(files, now, suffix, None if every else wanted)
    names = list(profiles) if every else list(dict.fromkeys(wanted))
    if every:
        check_names(names, suffix)  # [DEFAULT-long-term] is found as profile DEFAULT: refused
    unknown = [n for n in names if n not in profiles]
    if unknown:
        where = files.credentials_path if os.path.exists(files.credentials_path) else f"{files.credentials_path} (which does not exist)"
        known = ", ".join(discover(files, now, suffix)) or "none"
        raise WorkstationError(f"unknown profile {unknown[0]!r}: no [{unknown[0]}{suffix}] section with aws_access_key_id and "
                               f"aws_secret_access_key in {where}" + (f" or {files.env_path}" if files.env_path else "")
                               + f" (long-term profiles found: {known})")
    if not names:
        raise WorkstationError(f"no long-term profiles (sections named NAME{suffix}) in {files.credentials_path}")
    return [profiles[n] for n in names]


def session_values(credentials: dict, role_arn: Optional[str] = None) -> Dict[str, str]:
    """The section written for a session; ``aws_security_token`` repeats the token, since botocore reads it first.

    ``assumed_role = False`` is aws-mfa's mark of a GetSessionToken session: without it, aws-mfa
    takes the session for invalid, asks for a new code and rewrites the whole file. A session of role ``role_arn`` is
    marked as aws-mfa marks its own: ``assumed_role = True`` and ``assumed_role_arn``.
    """
    expires = credentials["Expiration"]
    expires = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
        "aws_security_token": credentials["SessionToken"],
        "expiration": format_expiration(expires),
        "assumed_role": "True" if role_arn else "False",
        **({"assumed_role_arn": role_arn} if role_arn else {}),
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


# --- what a login does -------------------------------------------------------------------------


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
    session_store: str = "file"  # or credential_process: the session in the OS keyring, served by awssec-credentials


def code_groups(profiles: List[Profile]) -> List[List[Profile]]:
    """The profiles one MFA code serves, in order: those of one long-term key and one MFA device. A group of one gets its
    session with that key and the code (GetSessionToken, or AssumeRole for a role); a larger group gets one
    GetSessionToken with the code, then each role's AssumeRole with that session (AWS's role chaining: an hour at most)."""
    groups: Dict[Tuple, List[Profile]] = {}
    for profile in profiles:
        groups.setdefault((profile.long_term, profile.access_key_id, profile.mfa_serial), []).append(profile)
    return list(groups.values())


def group_code(group: List[Profile], codes: Dict[str, str]) -> Tuple[str, Optional[str]]:
    """(the profile whose code a group uses, the code): the first of the group given one, else the first of the group."""
    given = next((p.name for p in group if p.name in codes), group[0].name)
    return given, codes.get(given)


def role_shadow(profile: Profile, files: Files, suffix: str) -> Optional[str]:
    """Why ``aws --profile NAME`` would not use the session written for ``NAME``, or None: botocore assumes the role of a
    profile whose config section holds role_arn (or gets credentials from its credential_source) before it reads the
    credentials file, so a role defined under the session's own name would ask for its own code and never read the session."""
    section = awsfiles.config_section(files.config, profile.name)
    held = [k for k in ("role_arn", "credential_source", "web_identity_token_file", "sso_session", "sso_start_url")
            if (files.config.get(section) or {}).get(k)]
    if not held:
        return None
    return (f"[{section}] of {files.config_path} holds {' and '.join(held)}: botocore and the aws CLI would use that for profile "
            f"{profile.name!r} before the session written for it; a role profile is defined under [profile {profile.name}{suffix}] "
            f"(role_arn, source_profile, mfa_serial, ...) and its session is then profile {profile.name!r}: move those keys there")


def plan(files: Files, options: LoginOptions, now: datetime, check_mode: bool) -> Tuple[List[Profile], List[Profile]]:
    """(profiles to refresh, profiles whose session is still valid); every input checked, nothing called."""
    check_duration(options.duration_seconds)
    profiles = select(files, options.profiles, now, options.long_term_suffix)
    refresh = [p for p in profiles if needs_session(p, now, options.min_remaining_seconds, options.force)]
    for profile in refresh:
        conflict = session_conflict(profile, files, options.long_term_suffix) or role_shadow(profile, files, options.long_term_suffix)
        if conflict:
            raise WorkstationError(conflict + ": nothing was changed")
        if profile.role:
            check_role(profile)
    if refresh:  # before a code is asked for or spent
        try:
            awsfiles.check_replaceable(files.credentials_path)
        except awsfiles.FileError as e:
            raise WorkstationError(str(e)) from e
    for profile in refresh:
        if not profile.mfa_serial:
            raise WorkstationError(f"no MFA device for profile {profile.name!r}: looked for " + "; ".join(profile.mfa_serial_places))
    for group in code_groups(refresh):
        name, code = group_code(group, options.token_codes)
        if code is not None or not check_mode:
            check_token_code(name, code, [p.name for p in group])
    return refresh, [p for p in profiles if p not in refresh]
