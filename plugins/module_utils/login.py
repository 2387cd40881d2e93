# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Getting MFA sessions on a workstation: read the local files, call sts:GetSessionToken once, write the session.

``plan`` (in workstation.py) decides, from the files alone, which profiles need a session and
checks every input; ``login`` then makes the one call with long-term keys per profile, writes
the session to ``[NAME]``, and checks the user and key with the session. Every time is
timezone-aware UTC.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Callable, Dict, Optional, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles, keystore
from ansible_collections.awssec.mfa.plugins.module_utils.clients import Sessions
from ansible_collections.awssec.mfa.plugins.module_utils.errors import error_reason
from ansible_collections.awssec.mfa.plugins.module_utils.records import user_name_from_arn
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import (
    ENV_FILE_KEYS, STALE_SESSION_KEYS, Files, LoginOptions, Profile, WorkstationError, inherited_values, key_expiration_days,
    key_findings, parse_expiration, plan, remaining_seconds, session_values)
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
    for profile in refresh:
        if check_mode:
            results.append(_result(profile, started, "pending"))
            continue
        entry, wrote = _login_one(profile, files, options, session_factory, now, expiration_days, store)
        changed = changed or wrote
        results.append(entry)
    results.sort(key=lambda r: order[r["name"]])
    return {"changed": changed, "profiles": results, "key_expiration_days": expiration_days,
            "duration_seconds": options.duration_seconds, "credentials_file": files.credentials_path}


def _login_one(profile: Profile, files: Files, options: LoginOptions, session_factory, now, expiration_days, store=None) -> Tuple[dict, bool]:
    region = options.region or profile.region or files.env.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    long_term = session_factory(profile.access_key_id, profile.secret_access_key, None, region)
    try:
        response = long_term.client("sts", once=True).get_session_token(
            DurationSeconds=options.duration_seconds, SerialNumber=profile.mfa_serial,
            TokenCode=options.token_codes[profile.name])
    except (BotoCoreError, ClientError) as e:
        return _result(profile, now(), "failed", error=f"sts:GetSessionToken failed for profile {profile.name!r}: {error_reason(e)}"), False
    values = session_values(response["Credentials"])
    try:
        if store is None:
            awsfiles.update(files.credentials_path, lambda ini: ini.set(profile.name, values, remove=STALE_SESSION_KEYS), parsed=files.credentials)
        else:  # in the keyring, read back; then no session of NAME in the credentials file, which would win over credential_process
            keystore.save_session(store, profile.name, values)
            awsfiles.update(files.credentials_path, lambda ini: drop_session(ini, profile.name), parsed=files.credentials)
    except (awsfiles.FileError, keystore.KeystoreError) as e:
        return _result(profile, now(), "failed", error=f"the session could not be written: {e}"), False
    profile.session, profile.expires_at = "valid", parse_expiration(values["expiration"])
    entry = _result(profile, now(), "authenticated")
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
        if entry["user"] is None:
            entry["warnings"].append(f"the session is not an IAM user's ({arn['Arn']}): key age not checked")
            return entry, True
        keys = session.client("iam").list_access_keys(UserName=entry["user"], aws_retry=True)["AccessKeyMetadata"]
    except (BotoCoreError, ClientError) as e:
        entry["warnings"].append(f"could not check the user and access key with the session: {error_reason(e)}")
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
    files = read_files(params["credentials_file"] or credentials_path, params["config_file"] or config_path, params["env_file"])
    return login(files, options, Sessions(params["endpoint_url"], counter), utcnow, check_mode)


def login_failure(result: dict) -> Optional[str]:
    """Why a login failed, profile by profile (None: none failed)."""
    failed = [f"{r['name']}: {r['error']}" for r in result["profiles"] if r["status"] == "failed"]
    return "; ".join(failed) or None
