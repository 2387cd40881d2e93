# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Gathering: read IAM users into ``UserRecord``s, from the credential report or live, with the root user and, with
``evidence_days``, CloudTrail's console sign-ins; and the re-reads of what a credential report cannot vouch for.

``credential_report`` makes a number of calls that grows with pages, not users:
GenerateCredentialReport (polled), GetCredentialReport, GetAccountAuthorizationDetails (users, groups
and managed policies: whether a policy makes access keys useless without MFA), ListVirtualMFADevices,
GetAccountSummary and GetCallerIdentity.
``live`` asks IAM about each user and is exact, but makes five or more calls per user.

Each source of truth has its module: credential_report.py, live.py (live reads), root.py (the root user and the
virtual MFA devices) and cloudtrail.py (console sign-ins).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, List, Optional, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions, classify, is_selected
from ansible_collections.awssec.mfa.plugins.module_utils.clients import retrying
from ansible_collections.awssec.mfa.plugins.module_utils.cloudtrail import console_evidence
from ansible_collections.awssec.mfa.plugins.module_utils.credential_report import (
    fetch_credential_report,
    parse_credential_report,
    record_from_report_row,
    report_time,
)
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, Gone, aws_call, error_text
from ansible_collections.awssec.mfa.plugins.module_utils.live import (
    access_keys,
    authorization_details,
    authorization_details_of,
    devices_of,
    mfa_devices,
    read_names,
    read_selected_users,
    tag_dict,
)
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import bounded_map
from ansible_collections.awssec.mfa.plugins.module_utils.policy import keys_protection
from ansible_collections.awssec.mfa.plugins.module_utils.records import (
    KEY_REASONS,
    TAG_CHANGED_AT,
    TAG_ENFORCED_AT,
    AccessKey,
    Gathered,
    MFADevice,
    SignIns,
    UserRecord,
    as_utc,
)
from ansible_collections.awssec.mfa.plugins.module_utils.root import read_root, virtual_devices, virtual_serials_by_user


SOURCES = ("credential_report", "live")


def gather(iam, sts, source: str, options: ClassifyOptions, sleep: Callable = time.sleep, now: Optional[datetime] = None,
           cloudtrail=None, concurrency: int = 1, identity: Optional[Dict] = None) -> Gathered:
    """Read every selected user of the account, with the given source (``cloudtrail``: for ``options.evidence_days``);
    users read live (every user with ``live``, a few with the report), ``concurrency`` at a time. Live, users that
    ``include_users`` names outright (no globs) are read by name, with their own policies: the account's users and
    authorization details are not listed.

    ``identity`` (``Account``, ``Arn``) is who the clients act as when that is known (an assumed role's, from
    sts:AssumeRole's answer); otherwise ``sts`` asks (sts:GetCallerIdentity). The clients may be raw boto3 clients: they
    are wrapped with clients.retrying (the reads below pass ``aws_retry=True``).

    Raises AWSError when the account cannot be read; ValueError for a ``source`` not in SOURCES, or evidence_days
    without ``cloudtrail`` (the caller's mistakes)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    if options.evidence_days and cloudtrail is None:
        raise ValueError("evidence_days needs a CloudTrail client")
    now = now or datetime.now(timezone.utc)
    iam = retrying(iam)
    cloudtrail = None if cloudtrail is None else retrying(cloudtrail)
    warnings: List[str] = []
    identity = identity or aws_call("get the caller identity (sts:GetCallerIdentity)", retrying(sts).get_caller_identity, aws_retry=True)
    devices = virtual_devices(iam, warnings)
    named = named_users(options) if source == "live" else None
    device_reads, unverified = 0, []
    if named is not None:  # those users alone, by name: neither the account's users nor all their policies are listed
        users, generated_at, root_row = [u for u in read_names(iam, named, warnings, concurrency).values() if u is not None], None, None
        protection = keys_protection(authorization_details_of(iam, [u.username for u in users], concurrency))
    else:
        details = aws_call("get account authorization details (iam:GetAccountAuthorizationDetails)", authorization_details, iam)
        protection = keys_protection(details)
        if source == "live":  # every device is read: ListMFADevices names each
            users, generated_at, root_row = read_selected_users(iam, options, warnings, concurrency), None, None
        else:
            users, generated_at, root_row, device_reads, unverified = _gather_from_report(
                iam, options, virtual_serials_by_user(devices), warnings, sleep, now, details, protection, concurrency)
    evidence, sign_ins = None, {}
    if options.evidence_days:  # enrichment: its failure leaves the sign-ins unknown, with a warning
        try:
            evidence, sign_ins = console_evidence(cloudtrail, options.evidence_days, now, sleep)
        except AWSError as e:
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
        root=read_root(iam, devices, root_row, warnings),
        warnings=warnings,
        device_reads=device_reads,
        evidence=evidence,
        unverified_users=unverified,
    )


GLOB_CHARACTERS = frozenset("*?[")  # what makes an include_users entry a pattern; IAM user names hold none of them


def named_users(options: ClassifyOptions) -> Optional[List[str]]:
    """The users to read by name (iam:GetUser) instead of listing the account's users: those of ``users`` that
    ``include_users`` selects (perhaps none), or else those ``include_users`` names when no entry is a glob; None when
    the account's users must be listed."""
    if options.users:
        return [name for name in dict.fromkeys(options.users) if is_selected(name, options)]
    names = list(dict.fromkeys(options.include_users))
    return names if names and not any(GLOB_CHARACTERS & set(name) for name in names) else None


# --- what the credential report lacks: key ids, and which MFA device ------------------------------


def needs_key_ids(user: UserRecord, options: ClassifyOptions, now: datetime) -> bool:
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


def _with_key_ids(iam, users: List[UserRecord], options: ClassifyOptions, now: datetime, warnings: List[str], concurrency: int) -> List[UserRecord]:
    """key_ids: the users with a key finding get their keys' ids, one ListAccessKeys each, ``concurrency`` at a time; a
    read that fails leaves that user's ids unknown, with a warning."""
    wanted = [user for user in users if needs_key_ids(user, options, now)]

    def read(user: UserRecord) -> UserRecord:
        try:
            return replace(user, access_keys=with_listed_ids(user.access_keys, access_keys(iam, user.username)))
        except Gone:
            return user
        except AWSError as e:
            warnings.append(f"the key ids of {user.username} are unknown: {error_text(e)}")
            return user

    read_back = dict(zip((u.username for u in wanted), bounded_map(read, wanted, concurrency)))
    return [read_back.get(user.username, user) for user in users]


def needs_device_read(user: UserRecord, options: ClassifyOptions) -> bool:
    """Does the credential report's view of this user's MFA need ListMFADevices (pure)? Yes when MFA is on and no virtual
    device is assigned now: the device may be a TOTP token, a security key, or gone since the report (a virtual device
    deactivated or deleted, a hardware one removed: the report still says MFA is on); and, with require_hardware_mfa,
    when only virtual devices are known (the report does not show a hardware device next to them)."""
    if any(device.serial is None for device in user.mfa_devices):
        return True
    return options.require_hardware_mfa and user.mfa_enabled and all(device.type == "virtual" for device in user.mfa_devices)


def _tell_devices_apart(iam, users: List[UserRecord], options: ClassifyOptions, warnings: List[str],
                        concurrency: int = 1) -> Tuple[List[UserRecord], int]:
    """Read with ListMFADevices the devices of the users the credential report cannot vouch for (``needs_device_read``),
    ``concurrency`` at a time; the number of reads. A read that fails leaves the user's MFA as the report has it, of type
    ``unknown``, with a warning naming the user and the cause."""
    def read(user: UserRecord) -> Tuple[Optional[UserRecord], Optional[str]]:
        try:
            return replace(user, mfa_devices=devices_of(mfa_devices(iam, user.username))), None
        except Gone:
            return None, None
        except AWSError as e:
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


# --- a stale report's re-reads --------------------------------------------------------------------


def suspects(users: List[UserRecord], options: ClassifyOptions, now: datetime) -> List[str]:
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
        changed = report_time(user.tags.get(TAG_CHANGED_AT) or user.tags.get(TAG_ENFORCED_AT))
        return changed > generated_at - CLOCK_SKEW
    except (TypeError, ValueError):
        return False


def rests_on_absence(user: UserRecord, options: ClassifyOptions, now: datetime) -> bool:
    """Is the user compliant only because the credential report shows no password or active key (pure)? Then a password
    or key added since the report would make them non-compliant unseen: such a user is read live."""
    if classify(user, options, now).status != "compliant":
        return False
    exposed = replace(user, console_access=True, access_keys=list(user.access_keys) + [AccessKey(status="Active", created=now)])
    return classify(exposed, options, now).status != "compliant"


# A report older than this was not generated for this run: changes made since may be missing from it.
REPORT_FRESH = 60


def _gather_from_report(iam, options: ClassifyOptions, virtual, warnings: List[str], sleep: Callable, now: datetime, details: Dict,
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
    fresh = read_names(iam, [u.username for u in users if u.username in reread], warnings, concurrency)
    merged = [fresh.get(u.username, u) for u in users]  # None: deleted since the report
    return [u for u in merged if u is not None], generated_at, root_row, device_reads, names


def _read_report(iam, options: ClassifyOptions, virtual, warnings: List[str], sleep: Callable, details: List[Dict],
                 concurrency: int = 1) -> Tuple[List[UserRecord], datetime, set, Optional[Dict[str, str]]]:
    """The users as the report has them (``details``: GetAccountAuthorizationDetails' users), when it was generated, the
    names of the users missing from it (read live) and its ``<root_account>`` row."""
    content, generated_at = fetch_credential_report(iam, sleep=sleep)
    rows, root_row = parse_credential_report(content)
    selected = [detail for detail in details if is_selected(detail["UserName"], options)]
    # Users created after the report was generated (AWS caches it up to 4 hours) are read live.
    missing = read_names(iam, [d["UserName"] for d in selected if d["UserName"] not in rows], warnings, concurrency)
    users = []
    for detail in selected:
        name = detail["UserName"]
        if name in rows:
            users.append(record_from_report_row(rows[name], None if virtual is None else virtual.get(name, []), tag_dict(detail.get("Tags"))))
        elif missing[name] is not None:
            users.append(missing[name])
    return users, generated_at, {name for name, record in missing.items() if record is not None}, root_row
