# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Access key rotation that never leaves the user without a working key.

Order: make room (IAM allows two keys, inactive ones count; the backup of a key deleted for it
goes too), create the new key, store it, wait until it works, back the old key up, retire the
old key (so a failed backup never leaves an inactive key whose secret is lost). When a step fails, what can be
undone is undone (a new key never put in use is deleted; the old key goes back into the file)
and the steps say exactly what state was left. Deciding is pure (``plan_room``, ``is_due``);
``rotate`` runs the steps through callables, so the workstation and admin modes share it.
"""

from __future__ import annotations

import random
import shlex
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles, keystore
from ansible_collections.awssec.mfa.plugins.module_utils.clients import THROTTLING_CODES, Sessions
from ansible_collections.awssec.mfa.plugins.module_utils.errors import error_code, error_reason
from ansible_collections.awssec.mfa.plugins.module_utils.login import move_to_keyring, read_files
from ansible_collections.awssec.mfa.plugins.module_utils.records import days_between, key_too_old, user_name_from_arn
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import WorkstationError, check_names, profile_region, session_state

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # the module reports the missing SDK
    BotoCoreError = ClientError = Exception

BACKUP_SUFFIX = "_deactivated_"
VERIFY_SUCCESSES = 3


class RotateError(Exception):
    """A rotation that cannot start; raised before any change."""


@dataclass
class RotateOptions:
    max_age_days: int = 365
    force: bool = False
    old_key: str = "deactivate"  # deactivate, delete, keep
    extra_keys: str = "keep"  # keep, deactivate, delete
    verify_timeout: float = 60.0
    rotate: bool = True  # False: only the second key is handled (extra_keys), whatever the key's age


def age_days(key: dict, now: datetime) -> int:
    return days_between(key["CreateDate"], now)


def is_due(age: int, options: RotateOptions) -> bool:
    return options.force or (options.rotate and key_too_old(age, options.max_age_days))


def plan_room(keys: List[dict], old_id: str, backed_up: List[str], extra_keys: str, hint: str = "") -> Optional[Dict[str, str]]:
    """What to delete so that a new key fits: None when there is room already; RotateError (ending with ``hint``) when nothing may go."""
    others = [k for k in keys if k["AccessKeyId"] != old_id]
    if len(keys) < 2 or not others:
        return None
    other = others[0]
    if other["Status"] == "Inactive" and other["AccessKeyId"] in backed_up:
        return {"access_key_id": other["AccessKeyId"], "why": "an inactive key that an earlier rotation backed up"}
    if extra_keys == "delete":
        return {"access_key_id": other["AccessKeyId"], "why": "extra_keys=delete"}
    raise RotateError(
        f"the user already has two access keys ({old_id} in use, {other['AccessKeyId']} {other['Status']}) and IAM allows two, "
        f"inactive ones included; with extra_keys={extra_keys} there is no room for a new key. Use extra_keys=delete, "
        f"or delete {other['AccessKeyId']} yourself. Nothing was changed.{hint}")


def backup_section(profile: str, now: datetime) -> str:
    return f"{profile}{BACKUP_SUFFIX}{now.astimezone(timezone.utc).strftime('%Y%m%d_%H%M%S')}"


def backup_values(key_id: str, secret: str, profile: str, now: datetime) -> Dict[str, str]:
    return {"aws_access_key_id": key_id, "aws_secret_access_key": secret,
            "deactivated_at": now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), "original_profile": profile}


def backed_up_ids(backup_ini) -> List[str]:
    """Access key IDs held in the backup file's ``*_deactivated_*`` sections."""
    ids = []
    for name in backup_ini.names():
        if BACKUP_SUFFIX in name:
            key_id = (backup_ini.get(name) or {}).get("aws_access_key_id")
            if key_id:
                ids.append(key_id.strip())
    return ids


@dataclass
class Hooks:
    """How this mode stores, verifies and backs up keys; ``store`` and ``backup`` are None in admin mode."""

    verify: Callable[[str, str], None]  # raises while the new key does not work
    store: Optional[Callable[[str, str], None]] = None
    restore: Optional[Callable[[], None]] = None
    backup: Optional[Callable[[], str]] = None  # returns the section written
    forget: Optional[Callable[[str], None]] = None  # removes the backup of a key deleted in IAM
    create: Optional[Callable[[], dict]] = None  # CreateAccessKey's answer, from a client that never sends it twice
    hint: str = ""  # where the key in use is kept, and the next command, for a refusal to make room
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


class _Steps:
    def __init__(self) -> None:
        self.items: List[dict] = []

    def add(self, step: str, result: str, detail: str = "") -> None:
        self.items.append({"step": step, "result": result, "detail": detail})


def rotate(iam, user: str, old_id: str, keys: List[dict], backed_up: List[str], options: RotateOptions, hooks: Hooks,
           now: datetime, check_mode: bool = False) -> dict:
    """Rotate ``old_id`` of ``user``. Returns the result: changed, rotated, steps, new key, and the secret for admin mode."""
    old = next((k for k in keys if k["AccessKeyId"] == old_id), None)
    if old is None:
        raise RotateError(f"the key in use ({old_id}) is not among user {user}'s access keys " + str([k["AccessKeyId"] for k in keys]))
    age = age_days(old, now)
    result = {"changed": False, "rotated": False, "user_name": user, "old_access_key_id": old_id, "new_access_key_id": None,
              "old_key_status": "Active", "key_age_days": age, "backup_section": None, "steps": [], "state": ""}
    steps = _Steps()
    result["steps"] = steps.items
    if not is_due(age, options):
        steps.add("rotate", "skipped", f"the key is {age} days old, not older than max_age_days={options.max_age_days} (force rotates anyway)"
                  if options.rotate else "only the second key was to be handled")
        _extra_keys(iam, user, old_id, keys, options, steps, check_mode, result, lambda key_id: _forget(hooks, key_id, backed_up, steps))
        result["state"] = "unchanged: the key in use was not rotated"
        return result
    room = plan_room(keys, old_id, backed_up, options.extra_keys, hooks.hint)  # raises before any change

    if check_mode:
        if room:
            steps.add("make_room", "would do", f"delete {room['access_key_id']} ({room['why']})")
            if hooks.forget and room["access_key_id"] in backed_up:
                steps.add("forget_backup", "would do", f"remove the backup of {room['access_key_id']}")
        steps.add("create", "would do", "create a new access key")
        if hooks.store:
            steps.add("write", "would do", "write the new key into the long-term profile")
        steps.add("verify", "would do", f"wait until the new key works ({VERIFY_SUCCESSES} successes in a row, at most {options.verify_timeout:g} s)")
        if hooks.backup and options.old_key == "deactivate":
            steps.add("backup", "would do", "back the old key up")
        if options.old_key != "keep":
            steps.add("retire_old", "would do", f"{options.old_key} {old_id}")
        result["changed"] = True
        result["state"] = "check mode: nothing was changed"
        return result

    # 1. make room
    if room:
        try:
            iam.delete_access_key(UserName=user, AccessKeyId=room["access_key_id"], aws_retry=True)
        except (BotoCoreError, ClientError) as e:
            steps.add("make_room", "failed", f"delete {room['access_key_id']}: {error_reason(e)}")
            result["state"] = f"unchanged: {old_id} is still in use; {room['access_key_id']} could not be deleted"
            return _failed(result)
        steps.add("make_room", "done", f"deleted {room['access_key_id']} ({room['why']})")
        result["changed"] = True
        _forget(hooks, room["access_key_id"], backed_up, steps)
    # 2. create, once: a request sent again after an answer was lost would make a second key
    try:
        new = _create_once(hooks.create or (lambda: iam.create_access_key(UserName=user)), hooks.sleep)["AccessKey"]
    except (BotoCoreError, ClientError) as e:
        steps.add("create", "failed", error_reason(e))
        if _outcome_unknown(e):
            _lost_answer(iam, user, keys, e, steps, result)
        else:
            result["state"] = f"{old_id} is still in use and active; no new key was created"
        return _failed(result)
    new_id, new_secret = new["AccessKeyId"], new["SecretAccessKey"]
    result.update(changed=True, new_access_key_id=new_id)
    steps.add("create", "done", f"created {new_id}")

    def undo_new(why: str) -> dict:
        try:
            iam.delete_access_key(UserName=user, AccessKeyId=new_id, aws_retry=True)
            steps.add("undo", "done", f"deleted the new key {new_id}, never put in use")
            result["new_access_key_id"] = None
            result["state"] = f"{old_id} is still in use and active; {why}"
        except (BotoCoreError, ClientError) as e:
            steps.add("undo", "failed", f"the new key {new_id} could not be deleted ({error_reason(e)}); delete it by hand")
            result["state"] = f"{old_id} is still in use and active; {why}; the unused key {new_id} remains"
        return _failed(result)

    # 3. store
    if hooks.store:
        try:
            hooks.store(new_id, new_secret)
        except Exception as e:  # any failure to write: the old key is still in the file
            steps.add("write", "failed", str(e))
            return undo_new(f"the keyring could not store the new key ({e})" if isinstance(e, keystore.KeystoreError)
                            else "the credentials file could not be written")
        steps.add("write", "done", "the new key is in the long-term profile")
    # 4. verify
    problem = _verify(hooks, new_id, new_secret, options.verify_timeout)
    if problem:
        steps.add("verify", "failed", problem)
        if hooks.restore:
            try:
                hooks.restore()
                steps.add("undo", "done", "the old key is back in the long-term profile")
            except Exception as e:
                steps.add("undo", "failed", f"the old key could not be put back into the file: {e}")
                result["state"] = f"the file holds the new key {new_id}, which did not verify; {old_id} is still active"
                return _failed(result)
        return undo_new("the new key did not work in time")
    steps.add("verify", "done", f"{new_id} works ({VERIFY_SUCCESSES} successes in a row)")
    result["rotated"] = True
    if not hooks.store:
        result["secret_access_key"] = new_secret
    if options.old_key == "keep":
        steps.add("retire_old", "skipped", f"old_key=keep: {old_id} stays active")
        result["state"] = f"{new_id} is in use; {old_id} is still active"
        return result
    # 5. back the old key up, while it is still active: a failed backup then loses no secret
    if hooks.backup and options.old_key == "deactivate":
        try:
            result["backup_section"] = hooks.backup()
            steps.add("backup", "done", f"[{result['backup_section']}]")
        except Exception as e:
            steps.add("backup", "failed", str(e))
            result["state"] = f"{new_id} is in use; {old_id} is still ACTIVE: its backup could not be written, so it was not deactivated"
            return _failed(result)
    # 6. retire the old key
    try:
        if options.old_key == "delete":
            iam.delete_access_key(UserName=user, AccessKeyId=old_id, aws_retry=True)
        else:
            iam.update_access_key(UserName=user, AccessKeyId=old_id, Status="Inactive", aws_retry=True)
    except (BotoCoreError, ClientError) as e:
        steps.add("retire_old", "failed", f"{options.old_key} {old_id}: {error_reason(e)}")
        result["state"] = f"{new_id} is in use and works; the old key {old_id} is still ACTIVE: {options.old_key} it by hand"
        return _failed(result)
    steps.add("retire_old", "done", f"{old_id} {'deleted' if options.old_key == 'delete' else 'deactivated'}")
    result["old_key_status"] = "deleted" if options.old_key == "delete" else "Inactive"
    result["state"] = f"{new_id} is in use; {old_id} is {'deleted' if options.old_key == 'delete' else 'inactive'}"
    return result


def _forget(hooks: Hooks, key_id: str, backed_up: List[str], steps: _Steps) -> None:
    """Remove the backup of a key just deleted in IAM: its secret has no use left, and must not stay on disk."""
    if not hooks.forget or key_id not in backed_up:
        return
    try:
        hooks.forget(key_id)
        steps.add("forget_backup", "done", f"removed the backup of {key_id}, deleted in IAM")
    except Exception as e:  # the key is gone either way; say where its secret still is
        steps.add("forget_backup", "failed", f"the backup of {key_id} (deleted in IAM) could not be removed, remove it by hand: {e}")


def _create_once(create: Callable[[], dict], sleep: Callable[[float], None], attempts: int = 5) -> dict:
    """``create()``, sent again only after an answer that says it was not carried out (throttled): never after a lost answer
    or a server error, which may have created a key whose secret was in the answer (``create`` comes from a client that
    does not retry by itself)."""
    for attempt in range(attempts - 1):
        try:
            return create()
        except ClientError as e:
            if _outcome_unknown(e) or not AWSRetry.found(error_code(e), THROTTLING_CODES):  # 4xx: throttling
                raise
            sleep(random.uniform(0, min(8.0, 0.5 * 2 ** attempt)))
    return create()


def _outcome_unknown(error) -> bool:
    """Whether a failed request may have been carried out: no answer, or a server error (5xx); an AWS refusal (4xx) was not."""
    status = (getattr(error, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return not isinstance(error, ClientError) or not status or status >= 500


def _lost_answer(iam, user: str, keys: List[dict], error, steps: _Steps, result: dict) -> None:
    """After CreateAccessKey without a clear answer: what exists now. A key that appeared has a secret nobody holds: it is deleted."""
    before = {k["AccessKeyId"] for k in keys}
    old_id = result["old_access_key_id"]
    try:
        now = iam.list_access_keys(UserName=user, aws_retry=True)["AccessKeyMetadata"]
    except (BotoCoreError, ClientError) as e:
        steps.add("check", "failed", f"the answer to CreateAccessKey was lost ({error_reason(error)}) and the keys could not be listed "
                                     f"({error_reason(e)})")
        result["state"] = (f"{old_id} is still in use and active; whether a new key was created is unknown: list {user}'s keys, "
                           f"and delete any key other than {old_id} that no file holds")
        return
    appeared = [k["AccessKeyId"] for k in now if k["AccessKeyId"] not in before]
    steps.add("check", "done", f"the answer to CreateAccessKey was lost; {user}'s keys now: "
                               + ", ".join(f"{k['AccessKeyId']} ({k['Status']})" for k in now))
    if not appeared:
        result["state"] = f"{old_id} is still in use and active; no new key was created"
        return
    left = []
    for key_id in appeared:
        try:
            iam.delete_access_key(UserName=user, AccessKeyId=key_id, aws_retry=True)
            steps.add("undo", "done", f"deleted {key_id}: it was created, but its secret never arrived")
        except (BotoCoreError, ClientError) as e:
            steps.add("undo", "failed", f"{key_id} was created but its secret never arrived, and it could not be deleted ({error_reason(e)})")
            left.append(key_id)
    result["changed"] = True
    result["new_access_key_id"] = left[0] if left else None  # created, never put in use, and not deleted (as by undo_new)
    result["state"] = (f"{old_id} is still in use and active; " + (f"the key {', '.join(left)} exists, active, with a secret that nobody "
                       f"holds: delete it" if left else "the key created without an answer was deleted"))


def _failed(result: dict) -> dict:
    result["failed_step"] = next((s["step"] for s in result["steps"] if s["result"] == "failed"), None)
    return result


def _verify(hooks: Hooks, key_id: str, secret: str, timeout: float) -> Optional[str]:
    """None once the key worked VERIFY_SUCCESSES times in a row; else why it did not, when ``timeout`` ran out."""
    deadline = hooks.clock() + timeout
    streak, delay, last = 0, 1.0, "no attempt"
    while True:
        try:
            hooks.verify(key_id, secret)
            streak += 1
            if streak >= VERIFY_SUCCESSES:
                return None
            hooks.sleep(0.5)
            continue
        except Exception as e:  # IAM is eventually consistent: a new key may fail for a while
            streak, last = 0, error_reason(e)
        if hooks.clock() + delay > deadline:
            return f"{key_id} did not work within {timeout:g} s (last error: {last})"
        hooks.sleep(delay)
        delay = min(delay * 2, 8.0)


def _extra_keys(iam, user, old_id, keys, options, steps, check_mode, result, forget) -> None:
    """The seed's handling of a second key, when no rotation happens: deactivate or delete it, per extra_keys."""
    for key in (k for k in keys if k["AccessKeyId"] != old_id):
        if options.extra_keys == "keep" or (options.extra_keys == "deactivate" and key["Status"] == "Inactive"):
            continue
        action = options.extra_keys
        if check_mode:
            steps.add("extra_key", "would do", f"{action} {key['AccessKeyId']}")
            result["changed"] = True
            continue
        try:
            if action == "delete":
                iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], aws_retry=True)
                forget(key["AccessKeyId"])
            else:
                iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive", aws_retry=True)
            steps.add("extra_key", "done", f"{action}d {key['AccessKeyId']}")
            result["changed"] = True
        except (BotoCoreError, ClientError) as e:
            steps.add("extra_key", "failed", f"{action} {key['AccessKeyId']}: {error_reason(e)}")
            _failed(result)


def render_rotation(result: dict, profile: Optional[str] = None) -> List[str]:
    """The seed's rotation lines for one result of access_key_rotate (or why it did not rotate)."""
    name = profile or result.get("user_name") or "?"
    if "steps" not in result:
        return [f"\u2717 {name}: {result.get('msg', 'rotation did not start')}"]
    marks = {"done": "\u2713", "failed": "\u2717", "skipped": "\u2139", "would do": "\u2192"}
    lines = [f"{marks.get(s['result'], chr(0x2139))} {s['step']}: {s['detail']}" for s in result["steps"]]
    if result.get("failed_step"):
        lines.append(f"\u2717 Key rotation failed for '{name}' at step {result['failed_step']}: {result['state']}")
    elif result.get("rotated"):
        lines.append(f"\u2713 Key rotation complete for '{name}'!")
        lines.append(f"\u2139 New key: {result['new_access_key_id']}")
        retired = {"deleted": "deleted", "Inactive": "deactivated"}.get(result.get("old_key_status"), "still active")
        lines.append(f"\u2139 Old key: {result['old_access_key_id']} ({retired}{', backed up' if result.get('backup_section') else ''})")
    else:
        lines.append(f"\u2139 {result.get('state', '')}")
    return lines


# --- workstation mode: the key of [PROFILE-long-term], with the MFA session of [PROFILE] ---------------------------------


def verify_identity(sts, user: str) -> None:
    """Raise unless sts:GetCallerIdentity with this client answers as ``user``."""
    arn = sts.get_caller_identity()["Arn"]
    if user_name_from_arn(arn) != user:
        raise WorkstationError(f"the key answers as {arn}, not as user {user}")


def oldest_active_key(keys: List[dict], user: str) -> str:
    """The id of ``user``'s oldest active key (``keys``: ListAccessKeys' metadata); RotateError when none is active."""
    active = sorted((k for k in keys if k["Status"] == "Active"), key=lambda k: k["CreateDate"])
    if not active:
        raise RotateError(f"user {user} has no active access key to rotate")
    return active[0]["AccessKeyId"]


def rotate_user(iam, user: str, old_id: Optional[str], options: RotateOptions, check_mode: bool, now: datetime, sessions: Sessions,
                region: Optional[str] = None, iam_once=None) -> dict:
    """Admin mode: rotate ``user``'s key ``old_id`` (None: their oldest active key) with ``iam``; the new key is tried
    through ``sessions``, and created through ``iam_once`` (a client that never sends a request twice) when given.
    Nothing is stored: the caller keeps the returned secret."""
    keys = iam.list_access_keys(UserName=user, aws_retry=True)["AccessKeyMetadata"]
    hooks = Hooks(verify=lambda key_id, secret: verify_identity(sessions(key_id, secret, None, region).client("sts"), user),
                  create=(lambda: iam_once.create_access_key(UserName=user)) if iam_once else None)
    return rotate(iam, user, old_id or oldest_active_key(keys, user), keys, [], options, hooks, now, check_mode)


def rotation_diff(result: dict, old_key: str, check_mode: bool) -> Dict[str, str]:
    """The user's keys before and after a rotation (or the one check mode previews), for --diff."""
    before = f"{result['old_access_key_id']}: Active\n"
    if not (result["changed"] and (result["rotated"] or check_mode)):
        return {"before": before, "after": before}
    return {"before": before, "after": f"{result['new_access_key_id'] or '(new key)'}: Active\n{result['old_access_key_id']}: {old_key}\n"}


def rotate_profile(profile: str, options: RotateOptions, check_mode: bool, now: datetime, credentials_path: Optional[str] = None,
                   session_profile: Optional[str] = None, long_term_suffix: str = "-long-term", backup_file: Optional[str] = None,
                   region: Optional[str] = None, endpoint_url: Optional[str] = None, counter=None, long_term_store: str = "file") -> dict:
    """Rotate the key stored in ``[PROFILE-long-term]``, using the MFA session of ``[PROFILE]`` (or ``session_profile``) for IAM.
    With ``long_term_store`` keyring a key still in the file is moved into the OS keyring first, and rotated there.

    Raises WorkstationError or RotateError (before any change) when the profile, the session or the keys do not allow it.
    """
    check_names([profile] + ([session_profile] if session_profile else []), long_term_suffix)
    credentials_path = credentials_path or awsfiles.default_paths()[0]
    files = read_files(credentials_path, awsfiles.default_paths()[1])
    long_term = f"{profile}{long_term_suffix}"
    moved = []
    if long_term_store == "keyring":  # a rotation its session refuses moves nothing: that refusal comes first, with nothing changed
        usable = session_state(files.credentials.get(session_profile or profile), now)[0] == "valid"
        moved = move_to_keyring(files, [long_term] if usable else [], check_mode)
    if moved and not check_mode:
        files = read_files(credentials_path, awsfiles.default_paths()[1])
    try:
        result = _rotate_profile(files, profile, long_term, options, check_mode, now, credentials_path, session_profile, long_term_suffix,
                                 backup_file, region, endpoint_url, counter)
    except (WorkstationError, RotateError) as e:
        if moved and not check_mode:
            raise type(e)(f"{e} (the key of [{long_term}] had been moved into the keyring first, and stays there)") from e
        raise
    result.update(moved_to_keyring=moved, changed=result["changed"] or bool(moved))
    return result


def _rotate_profile(files, profile: str, long_term: str, options: RotateOptions, check_mode: bool, now: datetime, credentials_path: str,
                    session_profile: Optional[str], long_term_suffix: str, backup_file: Optional[str], region: Optional[str],
                    endpoint_url: Optional[str], counter) -> dict:
    stored = files.credentials.get(long_term) or {}
    keyring = None
    if stored.get(keystore.MARKER) == "keyring":  # the key is in the OS keyring: the new one goes there, the old one is backed up there
        try:
            keyring = keystore.backend()
            pair = keystore.load(keyring, long_term)
        except keystore.KeystoreError as e:
            raise WorkstationError(f"[{long_term}] of {credentials_path} keeps its key in the keyring, which cannot be read: {e}") from e
        if pair is None:
            raise WorkstationError(f"[{long_term}] of {credentials_path} keeps its key in the keyring, which holds none for it")
        stored = dict(stored, **dict(zip(keystore.KEY_OPTIONS, pair)))
    if not stored.get("aws_access_key_id") or not stored.get("aws_secret_access_key"):
        raise WorkstationError(f"no [{long_term}] section with aws_access_key_id and aws_secret_access_key in {credentials_path}")
    session_name = session_profile or profile
    session = files.credentials.get(session_name)
    state, dummy = session_state(session, now)
    if state != "valid":
        raise WorkstationError(f"no valid MFA session in [{session_name}] of {credentials_path} ({state}): "
                               "get one first with awssec.mfa.aws_mfa_session or the awssec.mfa.mfa_login playbook")
    region = region or profile_region(files, session_name, long_term)
    sessions = Sessions(endpoint_url, counter)
    mfa = sessions(session["aws_access_key_id"], session["aws_secret_access_key"], session.get("aws_session_token"), region)
    user = user_name_from_arn(mfa.client("sts").get_caller_identity(aws_retry=True)["Arn"])
    if user is None:
        raise WorkstationError(f"the session in [{session_name}] is not an IAM user's: cannot rotate its keys")
    iam = mfa.client("iam")
    keys = iam.list_access_keys(UserName=user, aws_retry=True)["AccessKeyMetadata"]
    backup_path = backup_file or credentials_path + ".deactivated"
    old_id, old_secret = stored["aws_access_key_id"].strip(), stored["aws_secret_access_key"].strip()

    def store(key_id, secret):
        if keyring is not None:
            keystore.save(keyring, long_term, key_id, secret)
        else:
            awsfiles.update(credentials_path, lambda ini: ini.set(long_term, {"aws_access_key_id": key_id, "aws_secret_access_key": secret}))

    def backup():
        moment = datetime.now(timezone.utc)
        section = backup_section(long_term, moment)
        values = backup_values(old_id, old_secret, long_term, moment)
        if keyring is not None:  # the secret in the keyring; the backup file says which key it was, and where its secret is
            keystore.save(keyring, section, old_id, old_secret)
            values = dict(values, **{keystore.MARKER: "keyring"})
            del values["aws_secret_access_key"]
        awsfiles.update(backup_path, lambda ini: ini.set(section, values))
        return section

    def forget(key_id):
        gone = []

        def edit(ini):
            sections = [s for s in ini.names() if BACKUP_SUFFIX in s and (ini.get(s) or {}).get("aws_access_key_id", "").strip() == key_id]
            gone[:] = [s for s in sections if (ini.get(s) or {}).get(keystore.MARKER) == "keyring"]
            for section in sections:
                ini.remove(section)
            return bool(sections)
        awsfiles.update(backup_path, edit)
        for section in gone:
            keystore.forget(keyring or keystore.backend(), section)  # the deleted key's secret leaves the keyring too

    command = next_command(profile, long_term_suffix)
    where = f"the keyring's item for [{long_term}]" if keyring is not None else f"[{long_term}] of {credentials_path}"
    hooks = Hooks(verify=lambda key_id, secret: verify_identity(sessions(key_id, secret, None, region).client("sts"), user),
                  store=store, restore=lambda: store(old_id, old_secret), backup=backup, forget=forget,
                  create=lambda: mfa.client("iam", once=True).create_access_key(UserName=user),
                  hint=f" {where} holds {old_id}; to delete the other key and go on: {command}")
    result = rotate(iam, user, old_id, keys, backed_up_ids(awsfiles.read(backup_path)), options, hooks, now, check_mode)
    if not check_mode:
        try:
            held = (keystore.load(keyring, long_term) or ("",))[0] if keyring is not None else \
                (awsfiles.read(credentials_path).get(long_term) or {}).get("aws_access_key_id", "").strip()
        except keystore.KeystoreError as e:  # locked since: the result stands, without which key it holds
            held = ""
            result["state"] = f"{result.get('state') or 'rotated'}; which key the keyring holds could not be read afterwards ({e})"
        result.update(two_keys_left(result, held, command))
    return result


def next_command(profile: str, long_term_suffix: str) -> str:
    """The rotate_keys run that deletes the key the profile's file does not hold (and rotates only a key that is due)."""
    suffix = "" if long_term_suffix == "-long-term" else f" -e mfa_workstation_long_term_suffix={shlex.quote(long_term_suffix)}"
    return f"ansible-playbook awssec.mfa.rotate_keys -e profiles={shlex.quote(profile)} -e extra_keys=delete{suffix}"


def two_keys_left(result: dict, key_in_file: str, command: str) -> dict:
    """What to add to ``result``: which key the file holds and, when a failed rotation left another active key, which one
    it is, the command that deletes it (the next rotation refuses to start while the user has two keys) and the state
    saying so."""
    old_id, new_id = result["old_access_key_id"], result["new_access_key_id"]
    other = None
    if result.get("failed_step"):
        if key_in_file == new_id and result["old_key_status"] == "Active":
            other = old_id
        elif key_in_file == old_id and new_id:
            other = new_id  # created, never put in use, and not deleted
    extra = {"key_in_file": key_in_file or None, "other_active_key": other, "next_command": command if other else None}
    if other:
        extra["state"] = f"{result['state']}. The file holds {key_in_file}; {other} is the other active key: {command}"
    return extra
