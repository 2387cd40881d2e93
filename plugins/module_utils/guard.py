# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MFA guard's decision about one IAM change (an event of the iam_changes source), from the user read again live."""

from __future__ import annotations

import json
import os
import re
from typing import Callable, Dict, List, Optional, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.awsfiles import FILE_MODE, ensure_dir

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


def verdict(change: Dict, users: Optional[List[Dict]]) -> Dict:
    """What to do about ``change``, given ``users`` (the iam_mfa facts' users of the live re-read, or None when not read):
    ``act`` (report, and enforce when asked) or not, and why, in words for the log and the findings record."""
    user = change.get("user")
    found = {"user": user, "action": change.get("action"), "time": change.get("time"), "event_id": change.get("event_id"),
             "caller": change.get("caller"), "act": False, "status": None, "reasons": []}
    if not user:
        return dict(found, why="the call names no user (DeactivateMFADevice, which comes first, names the device's user)")
    if not needs_reading(change):
        return dict(found, why=f"a key was made {change.get('status') or 'inactive'}: no new way in")
    record = next((u for u in users or [] if u["username"] == user), None)
    if record is None:
        return dict(found, why="the user no longer exists")
    found.update(status=record["status"], reasons=list(record["reasons"]))
    if record["status"] == "non-compliant":
        return dict(found, act=True, why=f"without MFA: {', '.join(record['reasons'])}")
    if record["status"] == "grace-period":
        return dict(found, why=f"left alone: in the grace period, {record['grace_days_remaining']} day(s) left")
    if record["status"] == "exempted":
        exemption = record.get("exemption") or {}
        until = f" until {exemption['until']}" if exemption.get("until") else ""
        return dict(found, why=f"left alone: exempted ({exemption.get('reason') or 'no reason given'}{until})")
    return dict(found, why="left alone: compliant")


def append_finding(path: str, finding: Dict) -> None:
    """Add ``finding`` to the findings file ``path`` as one JSON line (folder 0700, file 0600, both made when missing).

    One write to a file opened for appending: guard playbooks running at once (the rulebook's parallel actions) each add
    their line whole, and none is lost - a read, edit and rewrite of the file (lineinfile) would drop the others'."""
    ensure_dir(path)
    line = (json.dumps(finding) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        if os.write(fd, line) != len(line):
            raise OSError(f"{path}: the finding was written in part (is the disk full?)")
    finally:
        os.close(fd)


def event_queue(event: Dict) -> Dict:
    """The ``sqs`` part of an iam_changes event (``queue_url``, ``receipt_handle``, ``message_id``); ValueError if none."""
    sqs = event.get("sqs") or {}
    if not sqs.get("queue_url") or not sqs.get("receipt_handle"):
        raise ValueError("event: not an event of awssec.mfa.iam_changes (it has no sqs.queue_url and sqs.receipt_handle)")
    return sqs


def mark_handled(client: Callable[..., object], sqs: Dict, finding: Optional[Dict], findings_path: Optional[str], region: Optional[str],
                 endpoint_url: Optional[str]) -> None:
    """The event's change is handled: ``finding`` added to ``findings_path`` (if given), then its message deleted with
    ``client("sqs", region=..., endpoint=...)`` - in the queue URL's region unless ``region``, at the URL's endpoint (a
    test server) unless ``endpoint_url``. OSError (the findings file) or botocore's errors (the deletion)."""
    if findings_path:
        append_finding(findings_path, finding)
    url_region, url_endpoint = queue_location(sqs["queue_url"])
    where = dict(region=region or url_region, **({"endpoint": url_endpoint} if url_endpoint and not endpoint_url else {}))
    client("sqs", **where).delete_message(QueueUrl=sqs["queue_url"], ReceiptHandle=sqs["receipt_handle"], aws_retry=True)
