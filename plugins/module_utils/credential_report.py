# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The IAM credential report: generated (GenerateCredentialReport, polled), fetched (GetCredentialReport) and read into
``UserRecord``s. It is one CSV of every user, but AWS caches it for up to 4 hours: what it cannot vouch for is read live
(gather.py)."""

from __future__ import annotations

import csv
import io
import itertools
import time
from datetime import datetime
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from ansible_collections.awssec.mfa.plugins.module_utils.clients import THROTTLING_CODES, retrying
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, aws_call
from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, MFADevice, UserRecord, as_utc


REPORT_NOT_READY = ("ReportInProgress", "ReportNotPresent", "ReportExpired")
# Values the credential report uses for "nothing here".
REPORT_EMPTY = ("", "N/A", "no_information", "not_supported")
# LimitExceeded is temporary for GenerateCredentialReport only (asked again too soon); elsewhere, such as
# AttachUserPolicy at a user's quota of ten policies, it is final and must fail at once: only the client that
# generates the report (report_client) retries it.
REPORT_RETRY = AWSRetry.jittered_backoff(catch_extra_error_codes=["LimitExceeded"] + THROTTLING_CODES)


def report_client(iam):
    """``iam``'s own client, its calls made with ``aws_retry=True`` retried on LimitExceeded too (REPORT_RETRY): for
    GenerateCredentialReport alone."""
    return retrying(iam.client if isinstance(iam, RetryingBotoClientWrapper) else iam, REPORT_RETRY)


REPORT_FIRST_WAIT = 0.1  # seconds before the first poll of GenerateCredentialReport; each wait doubles from there
REPORT_LONGEST_WAIT = 4.0  # the waits stop growing here
REPORT_DEADLINE = 300.0  # seconds of waiting before giving up


def report_waits(first: float = REPORT_FIRST_WAIT, longest: float = REPORT_LONGEST_WAIT, deadline: float = REPORT_DEADLINE) -> Iterator[float]:
    """The waits between polls of the credential report (pure): short first (a report is often ready within a
    second), doubling up to ``longest``, until they add up to ``deadline``."""
    wait, total = first, 0.0
    while total + wait <= deadline:
        yield wait
        total += wait
        wait = min(wait * 2, longest)


def fetch_credential_report(iam, sleep: Callable = time.sleep, waits: Optional[Iterable[float]] = None) -> Tuple[str, datetime]:
    """Generate the credential report and return (CSV text, GeneratedTime).

    GenerateCredentialReport is polled until it says COMPLETE, after each of ``waits`` (default: ``report_waits()``);
    a GetCredentialReport that still finds the report in progress goes back to polling. Throttling, and
    LimitExceeded of GenerateCredentialReport (``report_client``), are retried with jittered backoff; ``iam``, which
    may be a raw client, is wrapped with clients.retrying.
    """
    generating = report_client(iam)
    iam = retrying(iam)
    waited = 0.0
    for wait in itertools.chain(report_waits() if waits is None else waits, [None]):
        state = aws_call("generate the credential report (iam:GenerateCredentialReport)", generating.generate_credential_report, aws_retry=True)["State"]
        if state == "COMPLETE":
            try:
                response = aws_call("get the credential report (iam:GetCredentialReport)", iam.get_credential_report, aws_retry=True)
            except AWSError as e:
                if e.code not in REPORT_NOT_READY:
                    raise
            else:
                content = response["Content"]
                if isinstance(content, bytes):
                    content = content.decode("utf-8")
                return content, as_utc(response["GeneratedTime"])
        if wait is None:
            break
        sleep(wait)
        waited += wait
    raise AWSError(message=f"The credential report was not ready after {waited:g} s of polling; try again later or use source=live")


def report_time(value: Optional[str]) -> Optional[datetime]:
    if value is None or value.strip() in REPORT_EMPTY:
        return None
    return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))


def parse_credential_report(content: str) -> Tuple[Dict[str, Dict[str, str]], Optional[Dict[str, str]]]:
    """Rows of the credential report CSV by user name, and the ``<root_account>`` row (None if absent)."""
    rows: Dict[str, Dict[str, str]] = {}
    root = None
    for row in csv.DictReader(io.StringIO(content)):
        if row.get("user") == "<root_account>":
            root = row
        elif row.get("user"):
            rows[row["user"]] = row
    return rows, root


def _report_keys(row: Dict[str, str]) -> List[AccessKey]:
    keys = []
    for n in (1, 2):
        active = row.get(f"access_key_{n}_active") == "true"
        created = report_time(row.get(f"access_key_{n}_last_rotated"))
        if active or created is not None:
            keys.append(
                AccessKey(
                    status="Active" if active else "Inactive",
                    created=created,
                    last_used=report_time(row.get(f"access_key_{n}_last_used_date")),
                )
            )
    return keys


def mfa_devices_from_report(mfa_active: bool, virtual_serials: Optional[List[str]]) -> List[MFADevice]:
    """MFA devices as far as the credential report can tell.

    The report says only whether MFA is active. Assigned virtual devices come from
    ListVirtualMFADevices; an active MFA with no virtual device assigned is a hardware one
    (TOTP token or security key, without a serial: gather reads which with ListMFADevices). Without the
    virtual device list, the type is unknown.
    ListVirtualMFADevices is live while the report may be hours old: a virtual device assigned
    since the report means MFA, whatever the report says.
    """
    if virtual_serials:
        return [MFADevice(serial=serial, type="virtual") for serial in virtual_serials]
    if not mfa_active:
        return []
    if virtual_serials is None:
        return [MFADevice(serial=None, type="unknown")]
    return [MFADevice(serial=None, type="hardware")]


def record_from_report_row(row: Dict[str, str], virtual_serials: Optional[List[str]], tags: Dict[str, str]) -> UserRecord:
    return UserRecord(
        username=row["user"],
        arn=row["arn"],
        created=report_time(row["user_creation_time"]),
        console_access=row.get("password_enabled") == "true",
        password_created=report_time(row.get("password_last_changed")),
        password_last_used=report_time(row.get("password_last_used")),
        mfa_devices=mfa_devices_from_report(row.get("mfa_active") == "true", virtual_serials),
        access_keys=_report_keys(row),
        tags=tags,
    )
