# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MFA guard's decision about one IAM change (an event of the iam_changes source), from the user read again live."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from ansible_collections.awssec.mfa.plugins.module_utils.awsfiles import FILE_MODE, ensure_dir
from ansible_collections.awssec.mfa.plugins.module_utils.classify import first_match
from ansible_collections.awssec.mfa.plugins.module_utils.calls import paginate
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, unless_gone
from ansible_collections.awssec.mfa.plugins.module_utils.records import as_utc, isoformat

_AWS_QUEUE = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")
_ORIGIN = re.compile(r"^https?://[^/]+")


def queue_location(queue_url: str) -> Tuple[Optional[str], Optional[str]]:
    """The region and the endpoint an SQS queue URL names: ``https://sqs.REGION.amazonaws.com/...`` gives (REGION, None)
    (AWS's endpoint for it), any other URL (a test server) (None, its scheme, host and port)."""
    aws = _AWS_QUEUE.match(queue_url)
    if aws:
        return aws.group(1), None
    origin = _ORIGIN.match(queue_url)
    return None, origin.group(0) if origin else None


def needs_reading(change: Dict) -> bool:
    """Whether the change's user must be read again: a call that names a user and can leave them without MFA."""
    return bool(change.get("user")) and not (change.get("action") == "UpdateAccessKey" and change.get("status") != "Active")


def self_exemption(change: Dict, exempt_tag: str) -> bool:
    """Whether the change is a user putting the exemption tag on themselves (the caller is the tagged user)."""
    caller, user = change.get("caller") or "", change.get("user")
    return (change.get("action") == "TagUser" and exempt_tag in (change.get("tag_keys") or []) and bool(user)
            and ":user/" in caller and caller.rsplit("/", 1)[-1] == user)


def is_target(record: Dict, targets: Sequence[str]) -> bool:
    """Whether enforcement (the role mfa_enforce, with these targets) would act on the user as read."""
    return ((record["status"] == "non-compliant" and "non-compliant" in targets)
            or ("keys_not_mfa_protected" in record["reasons"] and "keys_not_mfa_protected" in targets and record["status"] != "exempted"))


def verdict(change: Dict, facts: Optional[Dict], user: Optional[str] = None, exempt_tag: str = "mfa-exempt",
            targets: Sequence[str] = ("non-compliant",)) -> Dict:
    """What to do about ``change`` (a checked IAM change) for ``user`` (the change's own, or one it concerns: a member of
    the group or a user of the policy it names), given ``facts`` (the iam_mfa facts of the live re-read of its users, or
    None when not read): ``act`` (report, and enforce when asked: the user is a target of enforcement), ``restore`` (the
    user has set up MFA: what enforcement did may be undone) or neither, and why, in words for the log and the findings
    record; ``self_exemption`` when the user put the exemption tag on themselves. A change made in another account or
    partition than the one the guard reads (and would act in) is never acted on."""
    user = user if user is not None else change.get("user")
    mine = self_exemption(change, exempt_tag)
    found = {"user": user, "action": change.get("action"), "time": change.get("time"), "event_id": change.get("event_id"),
             "caller": change.get("caller"), "account_id": change.get("account_id"), "act": False, "restore": False,
             "self_exemption": mine, "status": None, "reasons": []}
    if facts is not None and (change.get("account_id"), change.get("partition")) != (facts["account_id"], facts["partition"]):
        return dict(found, why=f"not this guard's account: the change was made in account {change.get('account_id')} ({change.get('partition')}); "
                               f"this guard reads and acts in {facts['account_id']} ({facts['partition']})")
    if not user:
        if change.get("group") or change.get("policy_arn"):
            return dict(found, why=f"the change concerns no user now (no member of the group {change.get('group')}, no user of the policy)"
                        if change.get("group") else "the change concerns no user now (the policy is attached to no user, directly or by a group)")
        return dict(found, why="the call names no user (DeactivateMFADevice, which comes first, names the device's user)")
    if user == change.get("user") and not needs_reading(change):
        return dict(found, why=f"a key was made {change.get('status') or 'inactive'}: no new way in")
    if facts is None:
        return dict(found, why="left alone: the user was not read")
    record = next((u for u in facts["users"] if u["username"] == user), None)
    if record is None:
        include = facts["options"].get("include_users") or []
        if include and first_match(user, include) is None:
            return dict(found, why="left alone: not among include_users")
        return dict(found, why="the user no longer exists")
    found.update(status=record["status"], reasons=list(record["reasons"]))
    prefix = "exempted themselves (the caller is the user, a finding for a person to check); " if mine else ""
    if change.get("action") == "EnableMFADevice" and record["mfa_enabled"]:
        return dict(found, restore=True, why="set up MFA: what enforcement did to them is to be undone (state restored, with mfa_guard_enforce)")
    if is_target(record, targets):
        if record["status"] == "non-compliant":
            return dict(found, act=True, why=f"{prefix}without MFA: {', '.join(record['reasons'])}")
        return dict(found, act=True, why=f"{prefix}access keys that do not need MFA (keys_not_mfa_protected, among mfa_enforce_targets)")
    if record["status"] == "grace-period":
        return dict(found, why=f"{prefix}left alone: in the grace period, {record['grace_days_remaining']} day(s) left")
    if record["status"] == "exempted":
        exemption = record.get("exemption") or {}
        until = f" until {exemption['until']}" if exemption.get("until") else ""
        return dict(found, why=f"{prefix}left alone: exempted ({exemption.get('reason') or 'no reason given'}{until})")
    return dict(found, why=f"{prefix}left alone: compliant")


def verdicts(events: Sequence[Dict], facts: Optional[Dict], concerned: Optional[Dict[str, List[str]]] = None, exempt_tag: str = "mfa-exempt",
             targets: Sequence[str] = ("non-compliant",), unreached: Optional[str] = None) -> List[Dict]:
    """The verdicts of one account's events (checked, as iam_change_event gives them): one per change, or one per user a
    group's or policy's change concerns (``concerned``: event id -> users). ``unreached``: why the account could not be
    reached - then no change is acted on, and each verdict says so."""
    found = []
    for event in events:
        change = event["iam_change"]
        if unreached:
            found.append(dict(verdict(change, None), why=unreached, unreached=True))
            continue
        users = (concerned or {}).get(change["event_id"]) or [None] if not change.get("user") else [change["user"]]
        found += [dict(verdict(change, facts, user, exempt_tag, targets), unreached=False) for user in users]
    return found


def concerned_users(iam, changes: Sequence[Dict]) -> Tuple[Dict[str, List[str]], int]:
    """(event id -> the users a change of a group or of a managed policy concerns now, sorted; the IAM requests made):
    a group's members, a policy's users and the members of its groups. A change that names its user is passed over;
    a group or policy deleted since concerns nobody."""
    calls, members = 0, {}

    def group_members(group: str) -> List[str]:
        nonlocal calls
        if group not in members:
            calls += 1
            found = unless_gone(f"read the members of the group {group} (iam:GetGroup)", paginate, iam, "get_group", "Users", GroupName=group)
            members[group] = [u["UserName"] for u in found or []]
        return members[group]

    concerned = {}
    for change in changes:
        if change.get("user") or not (change.get("group") or change.get("policy_arn")):
            continue
        if change.get("group"):
            users = set(group_members(change["group"]))
        else:
            calls += 1
            entities = unless_gone(f"list the users and groups of the policy {change['policy_arn']} (iam:ListEntitiesForPolicy)", paginate, iam,
                                   "list_entities_for_policy", None, PolicyArn=change["policy_arn"]) or {}
            users = {u["UserName"] for u in entities.get("PolicyUsers", [])}
            for group in entities.get("PolicyGroups", []):
                users |= set(group_members(group["GroupName"]))
        concerned[change["event_id"]] = sorted(users)
    return concerned, calls


def findings(found: Sequence[Dict], handling: Dict) -> List[Dict]:
    """The findings to record, one per verdict: the verdict with how it was handled - ``enforce`` (the guard was asked
    to), ``changed`` (IAM was changed for the user: enforced or restored, not a check-mode preview), ``breaker`` (why the
    circuit breaker stopped enforcement on the user), ``error`` (what failed for the user: their change's message stays
    in the queue) and ``handled_at``. ``handling``: enforce, check_mode, changed_users, failed (user -> error),
    breaker_why, denied_users, handled_at."""
    failed, denied = handling.get("failed") or {}, set(handling.get("denied_users") or [])
    changed = set(handling.get("changed_users") or []) if not handling.get("check_mode") else set()
    recorded = []
    for v in found:
        acted = v["act"] or v["restore"]
        # IAM changed once for a user: the first of their changes in the batch says so (copies of one change, or a user's
        # CreateUser, CreateLoginProfile and CreateAccessKey together).
        first = acted and v["user"] in changed
        if first:
            changed.discard(v["user"])
        recorded.append(dict(v, enforce=bool(handling.get("enforce")), changed=first,
                             breaker=handling.get("breaker_why") if v["act"] and v["user"] in denied else None,
                             error=failed.get(v["user"]) if acted else None, handled_at=handling.get("handled_at")))
    return recorded


def kept_messages(found: Sequence[Dict]) -> List[str]:
    """The event ids whose messages stay in the queue (to be delivered again, then go to the dead-letter queue): those of
    a user whose handling failed, and every event of an account that could not be reached."""
    return sorted({f["event_id"] for f in found if f.get("error") or f.get("unreached")})


def enforcement_outcome(result: Optional[Dict]) -> Tuple[List[str], Dict[str, str]]:
    """(the users iam_mfa_enforce changed, the users it failed on with why) from its registered result."""
    actions = (result or {}).get("actions") or []
    changed = [a["username"] for a in actions if a.get("result") == "done" and a.get("actions")]
    failed = {a["username"]: a.get("error") or "failed" for a in actions if a.get("result") == "failed"}
    return changed, failed


def open_own(path: str, flags: int) -> int:
    """A descriptor of ``path`` (made 0600 in a folder made 0700 with ``os.O_CREAT``), opened without following a
    symbolic link, without waiting on a FIFO, and only when it is a regular file of this user: the guard writes its own
    files and no file a link or another user points it at. OSError saying why."""
    ensure_dir(path)
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, FILE_MODE)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(e.errno, "it is a symbolic link: refused, the guard writes only its own files", path) from e
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file: refused", path)
        if info.st_uid != os.geteuid():
            raise OSError(errno.EPERM, f"it belongs to another user (uid {info.st_uid}), not this guard's: refused", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def append_finding(path: str, finding: Dict, sleep: Callable[[float], None] = time.sleep) -> None:
    """Add ``finding`` to the findings file ``path`` as one JSON line (folder 0700, file 0600, both made when missing),
    trying once more a second later when the write fails; OSError with the cause after that.

    One write to a file opened for appending: guard playbooks running at once (the rulebook's parallel actions) each add
    their line whole, and none is lost - a read, edit and rewrite of the file (lineinfile) would drop the others'."""
    line = (json.dumps(finding) + "\n").encode("utf-8")
    for attempt in range(2):
        try:
            fd = open_own(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                if os.write(fd, line) != len(line):
                    raise OSError(errno.ENOSPC, "the finding was written in part (is the disk full?)", path)
            finally:
                os.close(fd)
            return
        except OSError:
            if attempt:
                raise
            sleep(1.0)


# --- the circuit breaker ------------------------------------------------------------------------

@dataclass(frozen=True)
class Breaker:
    """At most ``max_actions`` users acted on in any ``window_minutes``: past it the guard only reports."""

    max_actions: int = 10
    window_minutes: int = 15

    def problems(self) -> List[str]:
        problems = [f"max_actions must be 0 or more, not {self.max_actions}"] if self.max_actions < 0 else []
        return problems + ([f"window_minutes must be 1 or more, not {self.window_minutes}"] if self.window_minutes < 1 else [])


def _at(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(value))


def claim(actions: List[Dict], user: str, event_id: Optional[str], breaker: Breaker, now: datetime) -> Tuple[List[Dict], Dict]:
    """Whether the guard may act on ``user`` now, given the ``actions`` recorded (``{"user", "event_id", "at"}``): (the
    actions to record - those of the window, with this one when it is allowed and new - and the answer). A user acted on
    within the window again costs nothing more (the same change delivered twice, or their next change); a new user is
    allowed while fewer than ``max_actions`` users were acted on in the window."""
    window = timedelta(minutes=breaker.window_minutes)
    recent = [a for a in actions if now - _at(a["at"]) < window]
    users = list(dict.fromkeys(a["user"] for a in recent))
    allowed = user in users or len(users) < breaker.max_actions
    if allowed and user not in users:
        recent.append({"user": user, "event_id": event_id, "at": isoformat(now)})
        users.append(user)
    answer = {"allowed": allowed, "users_in_window": users, "max_actions": breaker.max_actions, "window_minutes": breaker.window_minutes,
              "reopens_at": None}
    if not allowed:
        answer["reopens_at"] = isoformat(min(_at(a["at"]) for a in recent) + window) if recent else None  # none: max_actions 0
        until = f" until {answer['reopens_at']} or a reset" if recent else ""
        answer["why"] = (f"circuit breaker open: {len(users)} users acted on in the last {breaker.window_minutes} minutes "
                         f"(mfa_guard_max_actions={breaker.max_actions}); reporting only{until}")
    return recent, answer


def _read_state(path: str) -> List[Dict]:
    try:
        fd = open_own(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    try:
        actions = json.loads(data.decode("utf-8"))["actions"]
        if not all(isinstance(a, dict) and isinstance(a.get("user"), str) and _at(a.get("at")) for a in actions):
            raise ValueError("an action is not a user and a time")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise OSError(errno.EINVAL, f"the circuit breaker's state is unreadable ({e}): delete the file to reset it", path) from e
    return actions


def _write_state(path: str, actions: List[Dict]) -> None:
    """Replace the state file: a temporary file of this user in the same folder, fsync, rename (which replaces a link
    itself, never its target)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"actions": actions}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def exclusive(path: str):
    """Hold an exclusive lock (flock) on the lock file ``path`` (made when missing; a link or another user's file is
    refused). A process that dies lets it go."""
    fd = open_own(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def breaker_claim(path: str, users: Union[str, Sequence[str]], event_id: Optional[str], breaker: Breaker, now: datetime, check_mode: bool) -> Dict:
    """``claim`` for each of ``users`` (one, or a batch's in its order) in turn against the state file ``path``, under its lock
    (guard playbooks run at once): the answer for the last, with ``allowed_users`` and ``denied_users``, ``why`` when
    any was denied, and ``changed`` when an action was recorded (never in check mode). OSError for a state file that is
    not the guard's own or cannot be read."""
    with exclusive(path + ".lock"):
        before = actions = _read_state(path)
        allowed, denied, why, answer = [], [], None, {}
        for user in dict.fromkeys([users] if isinstance(users, str) else users):
            actions, answer = claim(actions, user, event_id, breaker, now)
            (allowed if answer["allowed"] else denied).append(user)
            why = why or answer.get("why")
        changed = actions != before and bool(allowed)
        if changed and not check_mode:
            _write_state(path, actions)
    return dict(answer, allowed_users=allowed, denied_users=denied, changed=changed, **({"why": why} if why else {}))


def breaker_reset(path: str, check_mode: bool) -> Dict:
    """Forget every action recorded: the breaker closes at once. ``changed`` when there was something to forget."""
    with exclusive(path + ".lock"):
        changed = bool(_read_state(path))
        if changed and not check_mode:
            os.unlink(path)
    return {"changed": changed, "allowed": True, "users_in_window": [], "reopens_at": None}


def event_queue(event: Dict) -> Dict:
    """The ``sqs`` part of an iam_changes event (``queue_url``, ``receipt_handle``, ``message_id``); ValueError if none."""
    sqs = event.get("sqs") or {}
    if not sqs.get("queue_url") or not sqs.get("receipt_handle"):
        raise ValueError("event: not an event of awssec.mfa.iam_changes (it has no sqs.queue_url and sqs.receipt_handle)")
    return sqs


def _queue_client(client: Callable[..., object], url: str, region: Optional[str], endpoint_url: Optional[str]):
    """``client("sqs", region=..., endpoint=...)`` for the queue ``url``: in the URL's region unless ``region``, at the
    URL's endpoint (a test server) unless ``endpoint_url``."""
    url_region, url_endpoint = queue_location(url)
    return client("sqs", region=region or url_region, **({"endpoint": url_endpoint} if url_endpoint and not endpoint_url else {}))


def mark_all_handled(client: Callable[..., object], events: Sequence[Dict], found: Sequence[Dict], findings_path: Optional[str],
                     region: Optional[str], endpoint_url: Optional[str]) -> None:
    """A batch's changes are handled: every finding of ``found`` added to ``findings_path`` (if given), then the messages
    of ``events`` (those to delete) deleted, ten to a request (sqs:DeleteMessageBatch), each queue with
    ``_queue_client``. OSError (the findings file), botocore's errors (the deletion), AWSError naming the messages a
    deletion failed for."""
    for finding in found if findings_path else ():
        append_finding(findings_path, finding)
    queues: Dict[str, List[Dict]] = {}
    for event in events:
        sqs = event_queue(event)
        queues.setdefault(sqs["queue_url"], []).append(sqs)
    for url, messages in queues.items():
        sqs_client = _queue_client(client, url, region, endpoint_url)
        for first in range(0, len(messages), 10):
            entries = [{"Id": str(n), "ReceiptHandle": m["receipt_handle"]} for n, m in enumerate(messages[first:first + 10])]
            answer = sqs_client.delete_message_batch(QueueUrl=url, Entries=entries, aws_retry=True)
            if answer.get("Failed"):
                failed = [f"{messages[first + int(f['Id'])]['message_id']} ({f.get('Code')})" for f in answer["Failed"]]
                raise AWSError(message=f"Failed to delete the SQS messages {', '.join(failed)} (sqs:DeleteMessageBatch)")


def mark_handled(client: Callable[..., object], sqs: Dict, finding: Optional[Dict], findings_path: Optional[str], region: Optional[str],
                 endpoint_url: Optional[str]) -> None:
    """The event's change is handled: ``finding`` added to ``findings_path`` (if given), then its message deleted, with
    ``_queue_client``. OSError (the findings file) or botocore's errors (the deletion)."""
    if findings_path:
        append_finding(findings_path, finding)
    _queue_client(client, sqs["queue_url"], region, endpoint_url).delete_message(QueueUrl=sqs["queue_url"], ReceiptHandle=sqs["receipt_handle"],
                                                                                 aws_retry=True)
