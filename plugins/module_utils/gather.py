# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Gathering: read IAM users into ``UserRecord``s, from the credential report or live.

``credential_report`` makes a number of calls that grows with pages, not users:
GenerateCredentialReport (polled), GetCredentialReport, GetAccountAuthorizationDetails (users, groups
and managed policies: whether a policy makes access keys useless without MFA), ListVirtualMFADevices,
GetAccountSummary and GetCallerIdentity.
``live`` asks IAM about each user and is exact, but makes five or more calls per user.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

try:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.awssec.mfa.plugins.module_utils.classify import Selection, classify, is_selected
from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY, THROTTLING_CODES
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import bounded_map
from ansible_collections.awssec.mfa.plugins.module_utils.policy import keys_protection
from ansible_collections.awssec.mfa.plugins.module_utils.records import (
    KEY_REASONS,
    TAG_CHANGED_AT,
    TAG_ENFORCED_AT,
    AccessKey,
    Evidence,
    Gathered,
    MFADevice,
    RootRecord,
    SignIns,
    UserRecord,
    as_utc,
    mfa_device_type,
)

SOURCES = ("credential_report", "live")
PAGE_SIZE = 1000  # the largest page IAM serves
REPORT_NOT_READY = ("ReportInProgress", "ReportNotPresent", "ReportExpired")
# Values the credential report uses for "nothing here".
REPORT_EMPTY = ("", "N/A", "no_information", "not_supported")
NEVER = datetime.max.replace(tzinfo=timezone.utc)  # sorts keys without a creation date last

retry = RETRY
# LimitExceeded is temporary for GenerateCredentialReport only (asked again too soon); elsewhere, such as
# AttachUserPolicy at a user's quota of ten policies, it is final and must fail at once.
report_retry = AWSRetry.jittered_backoff(catch_extra_error_codes=["LimitExceeded"] + THROTTLING_CODES)


class IAMError(AnsibleAWSError):
    """A failure to read or change IAM, with the message a user needs."""


def error_text(e: BaseException) -> str:
    """What failed and why, once: an IAMError's message and its cause (the AWS error code and message, or the SDK's)."""
    message, cause = getattr(e, "message", None), getattr(e, "exception", None)
    if not isinstance(e, AnsibleAWSError) or cause is None:
        return _cause(e) if message is None else str(message)
    return f"{message}: {_cause(cause)}"


def _cause(e: BaseException) -> str:
    error = (getattr(e, "response", None) or {}).get("Error") or {}
    if error.get("Code"):
        message = str(error.get("Message") or "no message")
        if message.lstrip().startswith("<"):  # a web page, not an AWS error (an emulator that lacks the call)
            message = "an HTML page, not an AWS answer (an endpoint that does not serve this call?)"
        return f"{error['Code']}: {message}"
    if isinstance(e, ResponseParserError):  # its text quotes the whole answer (an HTML page, from an emulator that lacks the call)
        return "the answer could not be parsed as AWS's (an endpoint that does not serve this call?): " + str(e).split(":", 1)[0]
    return str(e) or type(e).__name__


def error_code(exception) -> Optional[str]:
    """The AWS error code of a botocore ClientError, or None for anything else."""
    response = getattr(exception, "response", None) or {}
    return response.get("Error", {}).get("Code")


def aws_call(what: str, function: Callable, *args, **kwargs):
    """Run an AWS call; turn SDK errors (an answer botocore cannot parse included) into IAMError naming ``what`` was being done."""
    try:
        return function(*args, **kwargs)
    except (BotoCoreError, ClientError, ResponseParserError) as e:
        raise IAMError(message=f"Failed to {what}", exception=e) from e


# --- raw calls, each retried with jittered backoff --------------------------------------------


@retry
def retried(function: Callable, **kwargs):
    """``function(**kwargs)``, an AWS call, retried with jittered backoff."""
    return function(**kwargs)


@report_retry
def _generate_credential_report(iam) -> str:
    return iam.generate_credential_report()["State"]


@retry
def _get_credential_report(iam) -> Dict:
    return iam.get_credential_report()


@retry
def paginate(client, operation: str, result_key: Optional[str], **kwargs):
    """Every page of ``operation``, in pages as large as IAM serves: the list under ``result_key``, or (None) the whole result."""
    pages = client.get_paginator(operation).paginate(PaginationConfig={"PageSize": PAGE_SIZE}, **kwargs).build_full_result()
    return pages if result_key is None else pages.get(result_key, [])


def _authorization_details(iam) -> Dict:
    """Users (with their tags, groups and policies), groups and managed policies, in pages over all of them."""
    return paginate(iam, "get_account_authorization_details", None, Filter=["User", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])


@retry
def _get_login_profile(iam, username: str) -> Optional[Dict]:
    try:
        return iam.get_login_profile(UserName=username)["LoginProfile"]
    except is_boto3_error_code("NoSuchEntity"):
        return None


@retry
def _get_access_key_last_used(iam, key_id: str) -> Optional[datetime]:
    return iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"].get("LastUsedDate")


@retry
def _organizations_features(iam) -> Dict:
    return iam.list_organizations_features()


@retry
def _lookup_events(cloudtrail, **kwargs) -> Dict:
    return cloudtrail.lookup_events(**kwargs)


@retry
def _get_user(iam, username: str) -> Dict:
    return iam.get_user(UserName=username)["User"]


@retry
def _get_account_summary(iam) -> Dict:
    return iam.get_account_summary()["SummaryMap"]


@retry
def _get_caller_identity(sts) -> Dict:
    return sts.get_caller_identity()


# --- credential report -----------------------------------------------------------------------


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
    LimitExceeded of GenerateCredentialReport, are retried with jittered backoff by the raw calls.
    """
    waited = 0.0
    for wait in itertools.chain(report_waits() if waits is None else waits, [None]):
        state = aws_call("generate the credential report (iam:GenerateCredentialReport)", _generate_credential_report, iam)
        if state == "COMPLETE":
            try:
                response = aws_call("get the credential report (iam:GetCredentialReport)", _get_credential_report, iam)
            except IAMError as e:
                if error_code(e.exception) not in REPORT_NOT_READY:
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
    raise IAMError(message=f"The credential report was not ready after {waited:g} s of polling; try again later or use source=live")


def _report_time(value: Optional[str]) -> Optional[datetime]:
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
        created = _report_time(row.get(f"access_key_{n}_last_rotated"))
        if active or created is not None:
            keys.append(
                AccessKey(
                    status="Active" if active else "Inactive",
                    created=created,
                    last_used=_report_time(row.get(f"access_key_{n}_last_used_date")),
                )
            )
    return keys


def mfa_devices_from_report(mfa_active: bool, virtual_serials: Optional[List[str]]) -> List[MFADevice]:
    """MFA devices as far as the credential report can tell.

    The report says only whether MFA is active. Assigned virtual devices come from
    ListVirtualMFADevices; an active MFA with no virtual device assigned is a hardware one
    (TOTP token or security key, without a serial: ``_tell_devices_apart`` reads which). Without the
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
        created=_report_time(row["user_creation_time"]),
        console_access=row.get("password_enabled") == "true",
        password_created=_report_time(row.get("password_last_changed")),
        password_last_used=_report_time(row.get("password_last_used")),
        mfa_devices=mfa_devices_from_report(row.get("mfa_active") == "true", virtual_serials),
        access_keys=_report_keys(row),
        tags=tags,
    )


# --- live, per user ---------------------------------------------------------------------------


def _tags(tag_list: Iterable[Dict]) -> Dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tag_list or []}


def devices_of(listed: List[Dict]) -> List[MFADevice]:
    """ListMFADevices' answer as MFADevices."""
    return [MFADevice(serial=d["SerialNumber"], type=mfa_device_type(d["SerialNumber"])) for d in listed]


def login_profile(iam, name: str) -> Optional[Dict]:
    return aws_call(f"get the login profile of {name}", _get_login_profile, iam, name)


def mfa_devices(iam, name: str) -> List[Dict]:
    return aws_call(f"list the MFA devices of {name}", paginate, iam, "list_mfa_devices", "MFADevices", UserName=name)


def access_keys(iam, name: str) -> List[Dict]:
    return aws_call(f"list the access keys of {name}", paginate, iam, "list_access_keys", "AccessKeyMetadata", UserName=name)


def user_tags(iam, name: str) -> Dict[str, str]:
    return _tags(aws_call(f"list the tags of {name}", paginate, iam, "list_user_tags", "Tags", UserName=name))


def read_user_live(iam, user: Dict) -> UserRecord:
    """Read one user's credentials live. ``user`` is a ListUsers/GetUser entry."""
    name = user["UserName"]
    login = login_profile(iam, name)
    devices = mfa_devices(iam, name)
    key_list = access_keys(iam, name)
    keys = [
        AccessKey(
            status=key["Status"],
            created=as_utc(key.get("CreateDate")),
            last_used=as_utc(aws_call(f"get when key {key['AccessKeyId']} was last used", _get_access_key_last_used, iam, key["AccessKeyId"])),
            access_key_id=key["AccessKeyId"],
        )
        for key in key_list
    ]
    tags = user_tags(iam, name)
    return UserRecord(
        username=name,
        arn=user["Arn"],
        created=as_utc(user["CreateDate"]),
        console_access=login is not None,
        password_created=as_utc(login.get("CreateDate")) if login else None,
        password_last_used=as_utc(user.get("PasswordLastUsed")),
        mfa_devices=devices_of(devices),
        access_keys=sorted(keys, key=lambda k: k.created or NEVER),
        tags=tags,
    )


# --- account-wide calls ----------------------------------------------------------------------


def _virtual_devices(iam, warnings: List[str]) -> Optional[List[Dict]]:
    """The assigned virtual MFA devices (the root user's included); None when the call is denied."""
    try:
        return aws_call(
            "list virtual MFA devices (iam:ListVirtualMFADevices)",
            paginate, iam, "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Assigned",
        )
    except IAMError as e:
        if error_code(e.exception) != "AccessDenied":
            raise
        warnings.append("iam:ListVirtualMFADevices was denied: every user with MFA is read with iam:ListMFADevices")
        return None


def _is_root(device: Dict) -> bool:
    # The root user's device names the account's root ARN (arn:aws:iam::123456789012:root) as its user.
    return ((device.get("User") or {}).get("Arn") or "").endswith(":root")


def virtual_serials_by_user(devices: Optional[List[Dict]]) -> Optional[Dict[str, List[str]]]:
    """Serials of the assigned virtual devices by IAM user name (the root user's left out)."""
    if devices is None:
        return None
    by_user: Dict[str, List[str]] = {}
    for device in devices:
        owner = (device.get("User") or {}).get("UserName")
        if owner and not _is_root(device):
            by_user.setdefault(owner, []).append(device["SerialNumber"])
    return by_user


def root_mfa_type(mfa_enabled: bool, devices: Optional[List[Dict]]) -> Optional[str]:
    """``virtual`` when a virtual device is assigned to the root user, ``hardware`` when MFA is on without one (a TOTP
    token or a security key: IAM tells them apart to the root user only), ``none``; None when the devices are unknown."""
    if devices is not None and any(_is_root(device) for device in devices):
        return "virtual"
    if not mfa_enabled:
        return "none"
    return None if devices is None else "hardware"


# Errors of iam:ListOrganizationsFeatures that say what the answer is.
CREDENTIALS_MANAGEMENT_ERRORS = {
    "OrganizationNotFoundException": "not_in_organization",
    "ServiceAccessNotEnabledException": "disabled",  # IAM's trusted access is off: root access cannot be managed
}


def credentials_management(iam, warnings: List[str]) -> Tuple[str, Optional[bool]]:
    """Whether the Organization manages member accounts' root credentials centrally (one of
    ROOT_CREDENTIALS_MANAGEMENT), and whether this account is a member that cannot tell (None: not known). Only the
    management account and a delegated administrator can tell; a member is refused, and takes the Organization's answer
    in an Organization report (org.aggregate)."""
    try:
        features = aws_call("list the Organization's root access features (iam:ListOrganizationsFeatures)", _organizations_features, iam)
    except IAMError as e:
        code = error_code(e.exception)
        if code in CREDENTIALS_MANAGEMENT_ERRORS:
            return CREDENTIALS_MANAGEMENT_ERRORS[code], None
        if code == "AccountNotManagementOrDelegatedAdministratorException":
            return "unknown", True
        warnings.append(f"centralized root access is reported as unknown: {error_text(e)}")
        return "unknown", None
    return ("enabled" if "RootCredentialsManagement" in features.get("EnabledFeatures", []) else "disabled"), False


def _root(iam, devices: Optional[List[Dict]], report_row: Optional[Dict[str, str]], warnings: List[str]) -> RootRecord:
    summary = aws_call("get the account summary (iam:GetAccountSummary)", _get_account_summary, iam)
    mfa_enabled = bool(summary.get("AccountMFAEnabled"))
    last_used = _report_time(report_row.get("password_last_used")) if report_row else None

    def told(key: str) -> Optional[bool]:  # a summary without the key (an older API, a stand-in server) does not tell
        return None if summary.get(key) is None else bool(summary[key])
    central, member = credentials_management(iam, warnings)
    return RootRecord(
        mfa_enabled=mfa_enabled,
        access_keys_present=bool(summary.get("AccountAccessKeysPresent")),
        mfa_type=root_mfa_type(mfa_enabled, devices),
        password_last_used=last_used,
        credentials_management=central,
        organization_member=member,
        password_present=told("AccountPasswordPresent"),
        signing_certificates_present=told("AccountSigningCertificatesPresent"),
        password_never_used=None if report_row is None else last_used is None,
    )


def _identity(sts) -> Dict:
    return aws_call("get the caller identity (sts:GetCallerIdentity)", _get_caller_identity, sts)


def gather(iam, sts, source: str, options: Selection, sleep: Callable = time.sleep, now: Optional[datetime] = None,
           cloudtrail=None, concurrency: int = 1, identity: Optional[Dict] = None) -> Gathered:
    """Read every selected user of the account, with the given source (``cloudtrail``: for ``options.evidence_days``);
    users read live (every user with ``live``, a few with the report), ``concurrency`` at a time. Live, users that
    ``include_users`` names outright (no globs) are read by name, with their own policies: the account's users and
    authorization details are not listed.

    ``identity`` (``Account``, ``Arn``) is who the clients act as when that is known (an assumed role's, from
    sts:AssumeRole's answer); otherwise ``sts`` asks (sts:GetCallerIdentity)."""
    if source not in SOURCES:
        raise IAMError(message=f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    if options.evidence_days and cloudtrail is None:
        raise IAMError(message="evidence_days needs a CloudTrail client")
    now = now or datetime.now(timezone.utc)
    warnings: List[str] = []
    identity = identity or _identity(sts)
    devices = _virtual_devices(iam, warnings)
    named = named_users(options) if source == "live" else None
    device_reads, unverified = 0, []
    if named is not None:  # those users alone, by name: neither the account's users nor all their policies are listed
        users, generated_at, root_row = [u for u in _read_names(iam, named, warnings, concurrency).values() if u is not None], None, None
        protection = keys_protection(authorization_details_of(iam, [u.username for u in users], concurrency))
    else:
        details = aws_call("get account authorization details (iam:GetAccountAuthorizationDetails)", _authorization_details, iam)
        protection = keys_protection(details)
        if source == "live":  # every device is read: ListMFADevices names each
            users, generated_at, root_row = _gather_live(iam, options, warnings, concurrency), None, None
        else:
            users, generated_at, root_row, device_reads, unverified = _gather_from_report(
                iam, options, virtual_serials_by_user(devices), warnings, sleep, now, details, protection, concurrency)
    evidence, sign_ins = None, {}
    if options.evidence_days:  # enrichment: its failure leaves the sign-ins unknown, with a warning
        try:
            evidence, sign_ins = _console_evidence(cloudtrail, options.evidence_days, now, sleep)
        except IAMError as e:
            warnings.append(f"console sign-ins without MFA are reported as unknown: {error_text(e)}")
    users = [replace(u, keys_mfa_protected=protection.get(u.username),
                     sign_ins=None if evidence is None else sign_ins.get(u.username, SignIns())) for u in users]
    if options.key_ids:
        users = _with_key_ids(iam, users, options, now, warnings, concurrency)
    return Gathered(
        account_id=identity["Account"],
        caller_arn=identity["Arn"],
        source=source,
        report_generated_at=generated_at,
        users=users,
        root=_root(iam, devices, root_row, warnings),
        warnings=warnings,
        device_reads=device_reads,
        evidence=evidence,
        unverified_users=unverified,
    )


def needs_key_ids(user: UserRecord, options: Selection, now: datetime) -> bool:
    """Does the user have a key without its id and a finding about keys (pure)?"""
    return any(key.access_key_id is None for key in user.access_keys) and bool(KEY_REASONS.intersection(classify(user, options, now).reasons))


def with_listed_ids(keys: List[AccessKey], listed: List[Dict]) -> List[AccessKey]:
    """Each key, with the id of the listed key (ListAccessKeys) created at the same second: the credential report's
    key_N_last_rotated is when the key was created. A key with no such twin (changed since the report) keeps none (pure)."""
    by_created = {}
    for entry in listed:
        created = as_utc(entry.get("CreateDate"))
        if created is not None:
            by_created.setdefault(created.replace(microsecond=0), entry["AccessKeyId"])
    return [key if key.access_key_id or key.created is None else replace(key, access_key_id=by_created.get(key.created.replace(microsecond=0)))
            for key in keys]


def _with_key_ids(iam, users: List[UserRecord], options: Selection, now: datetime, warnings: List[str], concurrency: int) -> List[UserRecord]:
    """key_ids: the users with a key finding get their keys' ids, one ListAccessKeys each, ``concurrency`` at a time; a
    read that fails leaves that user's ids unknown, with a warning."""
    wanted = [user for user in users if needs_key_ids(user, options, now)]

    def read(user: UserRecord) -> UserRecord:
        try:
            return replace(user, access_keys=with_listed_ids(user.access_keys, access_keys(iam, user.username)))
        except IAMError as e:
            if error_code(e.exception) != "NoSuchEntity":
                warnings.append(f"the key ids of {user.username} are unknown: {error_text(e)}")
            return user

    read_back = dict(zip((u.username for u in wanted), bounded_map(read, wanted, concurrency)))
    return [read_back.get(user.username, user) for user in users]


def needs_device_read(user: UserRecord, options: Selection) -> bool:
    """Does the credential report's view of this user's MFA need ListMFADevices (pure)? Yes when MFA is on and no virtual
    device is assigned now: the device may be a TOTP token, a security key, or gone since the report (a virtual device
    deactivated or deleted, a hardware one removed: the report still says MFA is on); and, with require_hardware_mfa,
    when only virtual devices are known (the report does not show a hardware device next to them)."""
    if any(device.serial is None for device in user.mfa_devices):
        return True
    return options.require_hardware_mfa and user.mfa_enabled and all(device.type == "virtual" for device in user.mfa_devices)


def _tell_devices_apart(iam, users: List[UserRecord], options: Selection, warnings: List[str],
                        concurrency: int = 1) -> Tuple[List[UserRecord], int]:
    """Read with ListMFADevices the devices of the users the credential report cannot vouch for (``needs_device_read``),
    ``concurrency`` at a time; the number of reads. A read that fails leaves the user's MFA as the report has it, of type
    ``unknown``, with a warning naming the user and the cause."""
    def read(user: UserRecord) -> Tuple[Optional[UserRecord], Optional[str]]:
        try:
            return replace(user, mfa_devices=devices_of(mfa_devices(iam, user.username))), None
        except IAMError as e:
            if error_code(e.exception) == "NoSuchEntity":
                return None, None
            return replace(user, mfa_devices=[MFADevice(serial=None, type="unknown")]), f"{user.username} ({error_text(e)})"

    wanted = [user for user in users if needs_device_read(user, options)]
    read_back = dict(zip((u.username for u in wanted), bounded_map(read, wanted, concurrency)))
    told, unread = [], []
    for user in users:
        if user.username in read_back:
            name = user.username
            user, failure = read_back[name]
            if user is None:
                warnings.append(f"user {name} was deleted while it was being read; it is left out")
                continue
            if failure:
                unread.append(failure)
        told.append(user)
    if unread:
        warnings.append("iam:ListMFADevices failed: the MFA of these users is as the credential report had it, which may be hours old: "
                        + ", ".join(unread))
    return told, len(wanted)


# --- console sign-in evidence (CloudTrail) -----------------------------------------------------

LOOKUP_EVENTS_RATE = 2.0  # requests a second CloudTrail serves LookupEvents, per account and Region
LOOKUP_EVENTS_PAGE = 50  # the most events a LookupEvents page holds


def _console_logins(cloudtrail, start: datetime, end: datetime, sleep: Callable, clock: Callable = time.monotonic) -> Tuple[List[Dict], int]:
    """Every ConsoleLogin event from ``start`` to ``end``, paced at LOOKUP_EVENTS_RATE; (events, pages read)."""
    events: List[Dict] = []
    request = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}],
               "StartTime": start, "EndTime": end, "MaxResults": LOOKUP_EVENTS_PAGE}
    pages, last = 0, None
    while True:
        if last is not None:
            wait = 1 / LOOKUP_EVENTS_RATE - (clock() - last)
            if wait > 0:
                sleep(wait)
        last = clock()
        page = aws_call("look up console sign-ins (cloudtrail:LookupEvents)", _lookup_events, cloudtrail, **request)
        pages += 1
        events += page.get("Events", [])
        if not page.get("NextToken"):
            return events, pages
        request["NextToken"] = page["NextToken"]


def sign_ins_without_mfa(events: Iterable[Dict]) -> Tuple[Dict[str, SignIns], SignIns]:
    """Successful console sign-ins without MFA (``additionalEventData.MFAUsed`` ``No``) in LookupEvents' events:
    by IAM user name, and the root user's."""
    by_user: Dict[str, SignIns] = {}
    root = SignIns()
    for event in events:
        try:
            detail = json.loads(event.get("CloudTrailEvent") or "{}")
        except ValueError:
            continue
        if (detail.get("additionalEventData") or {}).get("MFAUsed") != "No":
            continue
        if (detail.get("responseElements") or {}).get("ConsoleLogin") != "Success":
            continue
        identity = detail.get("userIdentity") or {}
        if identity.get("type") == "Root":
            found = root
        elif identity.get("type") == "IAMUser" and identity.get("userName"):
            found = by_user.setdefault(identity["userName"], SignIns())
        else:
            continue  # federated and assumed-role sign-ins: MFA is the identity provider's
        when = as_utc(event.get("EventTime")) if isinstance(event.get("EventTime"), datetime) else _report_time(detail.get("eventTime"))
        found.without_mfa += 1
        if when is not None and (found.last_without_mfa is None or when > found.last_without_mfa):
            found.last_without_mfa = when
    return by_user, root


def _console_evidence(cloudtrail, days: int, now: datetime, sleep: Callable) -> Tuple[Evidence, Dict[str, SignIns]]:
    events, pages = _console_logins(cloudtrail, now - timedelta(days=days), now, sleep)
    by_user, root = sign_ins_without_mfa(events)
    return Evidence(days=days, region=cloudtrail.meta.region_name, events=len(events), calls=pages, root=root), by_user


GLOB_CHARACTERS = frozenset("*?[")  # what makes an include_users entry a pattern; IAM user names hold none of them


def named_users(options: Selection) -> Optional[List[str]]:
    """The users to read by name (iam:GetUser) instead of listing the account's users: those of ``users`` that
    ``include_users`` selects (perhaps none), or else those ``include_users`` names when no entry is a glob; None when
    the account's users must be listed."""
    if options.users:
        return [name for name in dict.fromkeys(options.users) if is_selected(name, options)]
    names = list(dict.fromkeys(options.include_users))
    return names if names and not any(GLOB_CHARACTERS & set(name) for name in names) else None


def _policies_of(iam, kind: str, name: str) -> Dict:
    """The inline and attached policies of a user or a group (``kind``), as GetAccountAuthorizationDetails has them."""
    key = {"user": "UserName", "group": "GroupName"}[kind]
    inline = [{"PolicyName": policy,
               "PolicyDocument": aws_call(f"get policy {policy} of {kind} {name}", retried, getattr(iam, f"get_{kind}_policy"),
                                          **{key: name, "PolicyName": policy})["PolicyDocument"]}
              for policy in aws_call(f"list the policies of {kind} {name}", paginate, iam, f"list_{kind}_policies", "PolicyNames", **{key: name})]
    attached = aws_call(f"list the policies attached to {kind} {name}", paginate, iam, f"list_attached_{kind}_policies", "AttachedPolicies", **{key: name})
    return {f"{kind.capitalize()}PolicyList": inline, "AttachedManagedPolicies": attached}


def authorization_details_of(iam, names: List[str], concurrency: int = 1) -> Dict:
    """GetAccountAuthorizationDetails' answer for the users ``names`` alone - them, their groups, and the managed
    policies attached to either (their default versions) - read user by user, ``concurrency`` at a time."""
    def user(name: str) -> Dict:
        groups = [g["GroupName"] for g in aws_call(f"list the groups of {name}", paginate, iam, "list_groups_for_user", "Groups", UserName=name)]
        return dict(UserName=name, GroupList=groups, **_policies_of(iam, "user", name))

    users = list(bounded_map(user, names, concurrency))
    groups = [dict(GroupName=group, **_policies_of(iam, "group", group)) for group in dict.fromkeys(g for u in users for g in u["GroupList"])]
    policies = []
    for arn in dict.fromkeys(p["PolicyArn"] for holder in users + groups for p in holder["AttachedManagedPolicies"]):
        policy = aws_call(f"get policy {arn}", retried, iam.get_policy, PolicyArn=arn)["Policy"]
        version = aws_call(f"get the default version of {arn}", retried, iam.get_policy_version, PolicyArn=arn, VersionId=policy["DefaultVersionId"])
        policies.append({"Arn": arn, "PolicyVersionList": [dict(version["PolicyVersion"], IsDefaultVersion=True)]})
    return {"UserDetailList": users, "GroupDetailList": groups, "Policies": policies}


def _gather_live(iam, options: Selection, warnings: List[str], concurrency: int) -> List[UserRecord]:
    listed = aws_call("list users (iam:ListUsers)", paginate, iam, "list_users", "Users")
    return _read_all(iam, [user for user in listed if is_selected(user["UserName"], options)], warnings, concurrency)


def _read_all(iam, users: List[Dict], warnings: List[str], concurrency: int) -> List[UserRecord]:
    """Read the users live, ``concurrency`` at a time; records and warnings in the users' order, as one by one."""
    records = _read_each(lambda user, own: _read_unless_deleted(iam, user, own), users, warnings, concurrency)
    return [record for record in records if record is not None]


def _read_each(read: Callable, items: List, warnings: List[str], concurrency: int) -> List[Optional[UserRecord]]:
    """``read(item, warnings)`` for each item, ``concurrency`` at a time; each item's warnings added in the items' order."""
    def one(item) -> Tuple[Optional[UserRecord], List[str]]:
        own: List[str] = []
        return read(item, own), own

    records = []
    for record, own in bounded_map(one, items, concurrency):
        warnings.extend(own)
        records.append(record)
    return records


def _read_unless_deleted(iam, user: Dict, warnings: List[str]) -> Optional[UserRecord]:
    # A user deleted while the account is being read is left out, not a failure.
    try:
        return read_user_live(iam, user)
    except IAMError as e:
        if error_code(e.exception) != "NoSuchEntity":
            raise
        warnings.append(f"user {user['UserName']} was deleted while it was being read; it is left out")
        return None


def suspects(users: List[UserRecord], options: Selection, now: datetime) -> List[str]:
    """The users a stale report may wrong: those it calls non-compliant or in grace (a compliant one stays compliant
    unless a credential was added, which the next report shows)."""
    return [u.username for u in users if classify(u, options, now).status in ("non-compliant", "grace-period")]


# AWS refuses requests signed more than 5 minutes off its clock: this machine's clock is at most that far from AWS's.
CLOCK_SKEW = timedelta(minutes=5)


def enforced_since(user: UserRecord, generated_at: datetime) -> bool:
    """May enforcement have changed this user after the report was generated? Its tags come from the live user list;
    the last change is dated by this machine's clock, the report by AWS's (to the second), so a change up to
    ``CLOCK_SKEW`` before the report counts as after it: such a user is read live, which is never wrong.
    Records of earlier versions have only the first enforcement's date."""
    try:
        changed = _report_time(user.tags.get(TAG_CHANGED_AT) or user.tags.get(TAG_ENFORCED_AT))
        return changed > generated_at - CLOCK_SKEW
    except (TypeError, ValueError):
        return False


def rests_on_absence(user: UserRecord, options: Selection, now: datetime) -> bool:
    """Is the user compliant only because the credential report shows no password or active key (pure)? Then a password
    or key added since the report would make them non-compliant unseen: such a user is read live."""
    if classify(user, options, now).status != "compliant":
        return False
    exposed = replace(user, console_access=True, access_keys=list(user.access_keys) + [AccessKey(status="Active", created=now)])
    return classify(exposed, options, now).status != "compliant"


# A report older than this was not generated for this run: changes made since may be missing from it.
REPORT_FRESH = 60


def _gather_from_report(iam, options: Selection, virtual, warnings: List[str], sleep: Callable, now: datetime, details: Dict,
                        protection: Dict[str, bool], concurrency: int = 1) -> Tuple[List[UserRecord], datetime, Optional[Dict], int, List[str]]:
    """The users, when the report was generated, its ``<root_account>`` row, the number of device reads and the users
    named as unverified.

    The report may be up to 4 hours old (docs/real-aws.md): what it cannot vouch for is read live - users missing from it,
    MFA it says is on without a virtual device now (``needs_device_read``), users compliant only for want of a credential
    (``rests_on_absence``) when it is older than REPORT_FRESH, users enforcement changed since, and past ``max_report_age`` the users it calls non-compliant
    or in grace. Those it still calls non-compliant or in grace, when it is older than REPORT_FRESH, are named in a warning:
    a fix made since is not seen."""
    users, generated_at, read_live, root_row = _read_report(iam, options, virtual, warnings, sleep, details.get("UserDetailList", []), concurrency)
    from_report = [replace(u, keys_mfa_protected=protection.get(u.username)) for u in users if u.username not in read_live]
    told, device_reads = _tell_devices_apart(iam, from_report, options, warnings, concurrency)
    told_by_name = {u.username: u for u in told}
    users = [told_by_name.get(u.username) if u.username not in read_live else u for u in users]
    users = [u for u in users if u is not None]
    age = (now - generated_at).total_seconds()
    old = age >= REPORT_FRESH  # not made for this run: changes made since may be missing from it
    reread = {u.username for u in told if enforced_since(u, generated_at) or (old and rests_on_absence(u, options, now))}
    doubtful = set(suspects([u for u in told if u.username not in reread], options, now))
    if age > options.max_report_age:
        if doubtful:
            warnings.append(f"the credential report was generated {int(age)} s ago, more than max_report_age={options.max_report_age}: "
                            f"the {len(doubtful)} users it calls non-compliant or in grace were read live")
        reread |= doubtful
    names: List[str] = []
    if doubtful and old and age <= options.max_report_age:
        names = [u.username for u in users if u.username in doubtful]
        warnings.append(f"the credential report was generated {int(age)} s ago: a password or access key removed, or a hardware MFA "
                        f"device or security key enabled, since then by these {len(names)} users it calls non-compliant or in grace is not "
                        f"seen (enforcement reads them live before acting; max_report_age=0 or source=live reads them now): "
                        + ", ".join(names))
    if not reread:
        return users, generated_at, root_row, device_reads, names
    fresh = _read_names(iam, [u.username for u in users if u.username in reread], warnings, concurrency)
    merged = [fresh.get(u.username, u) for u in users]  # None: deleted since the report
    return [u for u in merged if u is not None], generated_at, root_row, device_reads, names


def _read_names(iam, names: List[str], warnings: List[str], concurrency: int) -> Dict[str, Optional[UserRecord]]:
    """The users read live by name, ``concurrency`` at a time (None: no longer exists); warnings in the names' order."""
    return dict(zip(names, _read_each(lambda name, own: _read_by_name(iam, name, own), names, warnings, concurrency)))


def _read_by_name(iam, name: str, warnings: List[str]) -> Optional[UserRecord]:
    """A user read live by name; None when it no longer exists."""
    try:
        user = aws_call(f"get user {name}", _get_user, iam, name)
    except IAMError as e:
        if error_code(e.exception) != "NoSuchEntity":
            raise
        return None
    return _read_unless_deleted(iam, user, warnings)


def _read_report(iam, options: Selection, virtual, warnings: List[str], sleep: Callable, details: List[Dict],
                 concurrency: int = 1) -> Tuple[List[UserRecord], datetime, set, Optional[Dict[str, str]]]:
    """The users as the report has them (``details``: GetAccountAuthorizationDetails' users), when it was generated, the
    names of the users missing from it (read live) and its ``<root_account>`` row."""
    content, generated_at = fetch_credential_report(iam, sleep=sleep)
    rows, root_row = parse_credential_report(content)
    selected = [detail for detail in details if is_selected(detail["UserName"], options)]
    # Users created after the report was generated (AWS caches it up to 4 hours) are read live.
    missing = _read_names(iam, [d["UserName"] for d in selected if d["UserName"] not in rows], warnings, concurrency)
    users = []
    for detail in selected:
        name = detail["UserName"]
        if name in rows:
            users.append(record_from_report_row(rows[name], None if virtual is None else virtual.get(name, []), _tags(detail.get("Tags"))))
        elif missing[name] is not None:
            users.append(missing[name])
    return users, generated_at, {name for name, record in missing.items() if record is not None}, root_row
