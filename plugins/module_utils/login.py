# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Getting MFA sessions on a workstation: read the local files, send the one call that carries the MFA code, write the session.

``plan`` (in workstation.py) decides, from the files alone, which profiles need a session and
checks every input; ``login`` then makes the one call with long-term keys per MFA code
(sts:GetSessionToken, or sts:AssumeRole for a role profile; several profiles of one key:
GetSessionToken, then AssumeRole with that session), writes each session to ``[NAME]``, and
checks the user and key (or the role) with the session. Every time is timezone-aware UTC.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles, keystore
from ansible_collections.awssec.mfa.plugins.module_utils.clients import Sessions
from ansible_collections.awssec.mfa.plugins.module_utils.errors import error_reason
from ansible_collections.awssec.mfa.plugins.module_utils.records import user_name_from_arn
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import (
    ENV_FILE_KEYS, ROLE_CHAINING_LIMIT, STALE_SESSION_KEYS, Files, LoginOptions, Profile, WorkstationError, code_groups, group_code,
    holds_key_pair, inherited_values, key_expiration_days, key_findings, parse_expiration, plan, remaining_seconds, role_duration, role_session_name,
    session_values)
from ansible_collections.awssec.mfa.plugins.module_utils.workstation_render import format_remaining

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # the module reports the missing SDK
    BotoCoreError = ClientError = Exception


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
    """The files parsed; first, temporary files that a killed writer left beside them (they may hold secrets) are removed."""
    env = read_env_file(env_path) if env_path else {}
    for path in (credentials_path, config_path):
        awsfiles.sweep(path)
    return Files(credentials_path, config_path, awsfiles.read(credentials_path), awsfiles.read(config_path), env_path, env)


def _result(profile: Profile, now: datetime, status: str, **extra) -> dict:
    entry = {
        "role_arn": profile.role.arn if profile.role else None, "assumed_role_arn": None, "role_chained": False, "code_from": None,
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


def login(files: Files, options: LoginOptions, session_factory: Callable, now: Callable[[], datetime],
          check_mode: bool = False) -> dict:
    """Get a session for each profile that needs one, write it to ``[NAME]``, and check the user and key.

    ``session_factory(access_key, secret_key, token, region)`` returns a boto3 Session. Bad input
    raises WorkstationError before any call or write; a failing profile is reported and the others go on.
    """
    started = now()
    store = None
    if options.session_store == "credential_process":  # before any call: a session is never got that cannot be kept
        try:
            store = keystore.backend()
        except keystore.KeystoreError as e:
            raise WorkstationError(f"session_store credential_process: {e}") from e
    refresh, valid = plan(files, options, started, check_mode)
    expiration_days = key_expiration_days(options.key_expiration_days, files)
    order = {p.name: i for i, p in enumerate(refresh + valid)}
    results = [_result(p, started, "valid") for p in valid]
    changed = False
    for group in code_groups(refresh):
        name, code = group_code(group, options.token_codes)
        if check_mode:
            results.extend(_result(profile, started, "pending", code_from=name) for profile in group)
            continue
        for entry, wrote in _login_group(group, code, files, options, session_factory, now, expiration_days, store):
            entry["code_from"] = name
            changed = changed or wrote
            results.append(entry)
    results.sort(key=lambda r: order[r["name"]])
    return {"changed": changed, "profiles": results, "key_expiration_days": expiration_days,
            "duration_seconds": options.duration_seconds, "credentials_file": files.credentials_path}


def _login_group(group: List[Profile], code: str, files: Files, options: LoginOptions, session_factory, now, expiration_days,
                 store=None) -> Iterator[Tuple[dict, bool]]:
    """The sessions of the profiles one code serves (``code_groups``), each written and checked: (result, written) each.

    The one call that carries the code is sent once, with the long-term key: GetSessionToken, or AssumeRole with the MFA
    device and code for a role profile alone. For several profiles it is GetSessionToken, and each role is then assumed
    with that session, which carries the MFA (AWS allows such a role session an hour at most: ``role_chained``)."""
    first = group[0]
    region = options.region or first.region or files.env.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    sts = session_factory(first.access_key_id, first.secret_access_key, None, region).client("sts", once=True)
    chained = len(group) > 1
    call = "sts:AssumeRole" if not chained and first.role else "sts:GetSessionToken"
    try:
        if call == "sts:AssumeRole":
            response = sts.assume_role(**_assume_role_request(first, False), SerialNumber=first.mfa_serial, TokenCode=code)
        else:
            duration = options.duration_seconds if any(p.role is None for p in group) else ROLE_CHAINING_LIMIT
            response = sts.get_session_token(DurationSeconds=duration, SerialNumber=first.mfa_serial, TokenCode=code)
    except (BotoCoreError, ClientError) as e:
        for profile in group:
            yield _result(profile, now(), "failed", error=f"{call} failed for profile {profile.name!r}: {error_reason(e)}"), False
        return
    session = None
    for profile in group:
        if profile.role is None or not chained:
            yield _keep_session(profile, response["Credentials"], False, files, options, session_factory, now, expiration_days, store, region)
            continue
        if session is None:
            token = response["Credentials"]
            session = session_factory(token["AccessKeyId"], token["SecretAccessKey"], token["SessionToken"], region)
        try:  # no code in this call: retried as any other
            assumed = session.client("sts").assume_role(**_assume_role_request(profile, True), aws_retry=True)
        except (BotoCoreError, ClientError) as e:
            why = f"sts:AssumeRole failed for profile {profile.name!r} (with the MFA session of [{profile.long_term}]): {error_reason(e)}"
            yield _result(profile, now(), "failed", error=why), False
            continue
        yield _keep_session(profile, assumed["Credentials"], True, files, options, session_factory, now, expiration_days, store, region)


def _assume_role_request(profile: Profile, chained: bool) -> dict:
    request = {"RoleArn": profile.role.arn, "RoleSessionName": role_session_name(profile), "DurationSeconds": role_duration(profile, chained)}
    if profile.role.external_id:
        request["ExternalId"] = profile.role.external_id.strip()
    return request


def _keep_session(profile: Profile, credentials: dict, chained: bool, files: Files, options: LoginOptions, session_factory, now,
                  expiration_days, store, region) -> Tuple[dict, bool]:
    """Write the session ``credentials`` of ``profile`` (to [NAME], or the keyring) and check it: (result, written)."""
    values = session_values(credentials, profile.role.arn if profile.role else None)
    try:
        if store is None:
            awsfiles.update(files.credentials_path, lambda ini: ini.set(profile.name, values, remove=() if profile.role else STALE_SESSION_KEYS),
                            parsed=files.credentials)
        else:  # in the keyring, read back; then no session of NAME in the credentials file, which would win over credential_process
            keystore.save_session(store, profile.name, values)
            awsfiles.update(files.credentials_path, lambda ini: drop_session(ini, profile.name), parsed=files.credentials)
    except (awsfiles.FileError, keystore.KeystoreError) as e:
        return _result(profile, now(), "failed", error=f"the session could not be written: {e}"), False
    profile.session, profile.expires_at = "valid", parse_expiration(values["expiration"])
    entry = _result(profile, now(), "authenticated", role_chained=chained and profile.role is not None)
    if entry["role_chained"]:
        entry["warnings"].append(f"the role session lasts {format_remaining(entry['remaining_seconds'])}: one code served several "
                                 "profiles, and AWS allows a role assumed with a session an hour at most (log in to this profile "
                                 "alone for its duration_seconds)")
    inherited = inherited_values(profile, files)
    if store is not None:
        inherited["credential_process"] = keystore.credential_process_line(profile.name)
    if inherited:
        try:
            awsfiles.update(files.config_path, lambda ini: ini.set(awsfiles.config_section(ini, profile.name), inherited))
        except awsfiles.FileError as e:
            entry["warnings"].append(f"the long-term profile's {' and '.join(inherited)} could not be given to the session profile: {e}")
    session = session_factory(values["aws_access_key_id"], values["aws_secret_access_key"], values["aws_session_token"], region)
    try:
        arn = session.client("sts").get_caller_identity(aws_retry=True)
        entry["account"] = arn["Account"]
        entry["user"] = user_name_from_arn(arn["Arn"])
        if profile.role:
            entry["assumed_role_arn"] = arn["Arn"]
            return entry, True  # the role's session: the long-term key's age is its source profile's to report
        if entry["user"] is None:
            entry["warnings"].append(f"the session is not an IAM user's ({arn['Arn']}): key age not checked")
            return entry, True
        keys = session.client("iam").list_access_keys(UserName=entry["user"], aws_retry=True)["AccessKeyMetadata"]
    except (BotoCoreError, ClientError) as e:
        entry["warnings"].append(f"could not check the {'role' if profile.role else 'user and access key'} with the session: {error_reason(e)}")
        return entry, True
    findings = key_findings(keys, profile.access_key_id, expiration_days, now())
    entry["warnings"].extend(findings.pop("warnings"))
    entry.update(findings)
    return entry, True


SESSION_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token", "expiration", "assumed_role",
                *STALE_SESSION_KEYS)


def drop_session(ini, name: str) -> bool:
    """Remove the session of ``[name]`` (the section, when it holds nothing else); whether anything was removed."""
    held = ini.get(name)
    if held is None:
        return False
    if set(held) <= set(SESSION_KEYS):
        return ini.remove(name)
    present = [k for k in SESSION_KEYS if k in held]
    return ini.set(name, {}, remove=present) if present else False


def move_to_keyring(files: Files, sections, check_mode: bool) -> list:
    """long_term_store keyring: the long-term sections among ``sections`` that hold their key in plain text, each moved
    into the OS keyring as aws_profile's state migrated moves it (kept there and read back before the file loses it;
    in check mode, only named). WorkstationError, before any change, when no keyring backend is usable."""
    try:
        store = keystore.backend()
    except keystore.KeystoreError as e:
        raise WorkstationError(f"long_term_store keyring: {e}") from e
    moving = [s for s in dict.fromkeys(sections) if s != files.env_path and holds_key_pair(files.credentials.get(s) or {})]
    for section in moving:
        try:
            awsfiles.set_profile(files.credentials_path, "credentials", section, {}, [], "migrated", check_mode, store=store)
        except (ValueError, keystore.KeystoreError) as e:
            raise WorkstationError(f"long_term_store keyring: [{section}] could not be moved into the keyring: {e}") from e
    return moving


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def login_from_params(params: Dict, check_mode: bool, counter) -> dict:
    """aws_mfa_session's run: its parameters read into LoginOptions and the files, then ``login`` (requests counted by
    ``counter``). Raises WorkstationError (token_code for more than one profile, a profile that cannot be used) or
    awsfiles.FileError before any change."""
    codes = {str(k): str(v) for k, v in (params["token_codes"] or {}).items()}
    if params["token_code"] is not None:
        if len(params["profiles"]) != 1 or params["profiles"] == ["all"]:
            raise WorkstationError("token_code is for a single profile: name it in profiles, or use token_codes")
        codes[params["profiles"][0]] = params["token_code"]
    options = LoginOptions(
        profiles=params["profiles"], token_codes=codes, duration_seconds=params["duration_seconds"], force=params["force"],
        min_remaining_seconds=params["min_remaining_seconds"], key_expiration_days=params["key_expiration_days"],
        long_term_suffix=params["long_term_suffix"], region=params["region"], session_store=params.get("session_store") or "file")
    credentials_path, config_path = awsfiles.default_paths()
    paths = (params["credentials_file"] or credentials_path, params["config_file"] or config_path, params["env_file"])
    files = read_files(*paths)
    moved = []
    if params.get("long_term_store") == "keyring":  # every selected profile's key out of the file first (a role's: its source's) -
        refresh, valid = plan(files, options, utcnow(), check_mode)  # once every input is known good: a login refused moves nothing
        moved = move_to_keyring(files, [p.long_term for p in refresh + valid], check_mode)
        if moved and not check_mode:
            files = read_files(*paths)
    result = login(files, options, Sessions(params["endpoint_url"], counter), utcnow, check_mode)
    result.update(moved_to_keyring=moved, changed=result["changed"] or bool(moved))
    return result


def login_failure(result: dict) -> Optional[str]:
    """Why a login failed, profile by profile (None: none failed)."""
    failed = [f"{r['name']}: {r['error']}" for r in result["profiles"] if r["status"] == "failed"]
    return "; ".join(failed) or None
