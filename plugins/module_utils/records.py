# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Records shared by gathering, classification and reporting.

A ``UserRecord`` holds what was read about one IAM user, whatever the source
(credential report or live calls), so that classification never needs to know
where the data came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Optional

# The user statuses, in the order reports list them.
STATUSES = ("compliant", "non-compliant", "grace-period", "exempted")
RISKS = ("high", "medium", "low")
REASONS = (
    "console_without_mfa",
    "active_keys_without_mfa",
    "key_older_than_max_age",
    "unused_credentials",
    "multiple_active_keys",
    "virtual_mfa_only",
    "keys_not_mfa_protected",
    "not_phishing_resistant",
    "signed_in_without_mfa",
    "exemption_without_reason",
    "exemption_expired",
)
# The findings about a user's access keys (with key_ids, the ids of their keys are read: the credential report has none).
KEY_REASONS = frozenset(("active_keys_without_mfa", "key_older_than_max_age", "unused_credentials", "multiple_active_keys",
                         "keys_not_mfa_protected"))
ROOT_REASONS = ("root_without_mfa", "root_virtual_mfa_only", "root_access_keys", "root_credentials_present")
ROOT_CREDENTIALS = ("password", "access_keys", "signing_certificates")  # what a root user may hold, in this order
# Centralized root access (iam:ListOrganizationsFeatures): enabled, disabled, not_in_organization or unknown.
ROOT_CREDENTIALS_MANAGEMENT = ("enabled", "disabled", "not_in_organization", "unknown")
# Tags that enforcement writes on a user before it changes anything (see enforce.py); gathering reads them too.
TAG_ENFORCED_AT = "awssec:mfa-enforced-at"  # when it was first enforced (kept by later runs)
TAG_CHANGED_AT = "awssec:mfa-changed-at"  # when enforcement last wrote its record: this machine's clock at that write
PARTITION = re.compile(r"^aws(-[a-z]+)*$")  # aws, aws-us-gov, aws-cn, aws-iso-b ...


@dataclass
class AccessKey:
    status: str  # "Active" or "Inactive", as IAM says
    created: Optional[datetime]
    last_used: Optional[datetime] = None
    access_key_id: Optional[str] = None  # the credential report has no key ids

    @property
    def active(self) -> bool:
        return self.status == "Active"


@dataclass
class MFADevice:
    serial: Optional[str]
    # virtual: an authenticator app; hardware: a TOTP token (or, seen through the credential report, any device that
    # is not virtual); security_key: a FIDO security key or passkey; unknown: the source cannot tell.
    type: str


def mfa_device_type(serial: str) -> str:
    """The kind of an MFA device, from its serial: virtual devices and security keys have ARNs
    (``arn:aws:iam::1:mfa/name``, ``arn:aws:iam::1:u2f/user/name/key-id``), TOTP tokens plain serials (``GAHT12345678``)."""
    if not serial.startswith("arn:"):
        return "hardware"
    resource = serial.split(":", 5)[-1]
    if resource.startswith("mfa/"):
        return "virtual"
    if resource.startswith("u2f/"):
        return "security_key"
    return "unknown"


@dataclass
class SignIns:
    """Console sign-ins without MFA that CloudTrail recorded in the evidence window."""

    without_mfa: int = 0
    last_without_mfa: Optional[datetime] = None


@dataclass
class UserRecord:
    username: str
    arn: str
    created: datetime
    console_access: bool = False
    password_created: Optional[datetime] = None
    password_last_used: Optional[datetime] = None
    mfa_devices: List[MFADevice] = field(default_factory=list)
    access_keys: List[AccessKey] = field(default_factory=list)
    tags: Dict[str, str] = field(default_factory=dict)
    # Does a policy that applies to the user refuse requests without MFA, access keys' included? (None: not known)
    keys_mfa_protected: Optional[bool] = None
    # Console sign-ins without MFA in the evidence window (None: evidence not gathered)
    sign_ins: Optional[SignIns] = None

    @property
    def mfa_enabled(self) -> bool:
        return bool(self.mfa_devices)

    @property
    def active_keys(self) -> List[AccessKey]:
        return [key for key in self.access_keys if key.active]

    @property
    def last_activity(self) -> Optional[datetime]:
        used = [self.password_last_used] + [key.last_used for key in self.access_keys]
        used = [when for when in used if when is not None]
        return max(used) if used else None


@dataclass
class RootRecord:
    mfa_enabled: Optional[bool]
    access_keys_present: Optional[bool]
    mfa_type: Optional[str] = None  # virtual, hardware, none; None when it cannot be told
    password_last_used: Optional[datetime] = None  # from the credential report's <root_account> row
    credentials_management: str = "unknown"  # one of ROOT_CREDENTIALS_MANAGEMENT
    password_present: Optional[bool] = None  # GetAccountSummary's AccountPasswordPresent; None when it is not answered
    signing_certificates_present: Optional[bool] = None  # AccountSigningCertificatesPresent
    password_never_used: Optional[bool] = None  # the <root_account> row was read and names no use (None: no row read)
    organization_member: Optional[bool] = None  # an Organization's member account (refused iam:ListOrganizationsFeatures); None: not known

    def holds(self) -> Dict[str, Optional[bool]]:
        """Each of ROOT_CREDENTIALS: whether the root user holds it (None: not told)."""
        return {"password": self.password_present, "access_keys": self.access_keys_present,
                "signing_certificates": self.signing_certificates_present}

    @property
    def credentials(self) -> str:
        """``none`` (the best state: no password, access key or signing certificate), what it holds (``password,access_keys``),
        or ``unknown``."""
        holds = self.holds()
        present = [kind for kind in ROOT_CREDENTIALS if holds[kind]]
        if present:
            return ",".join(present)
        return "none" if all(value is False for value in holds.values()) else "unknown"


def root_reasons(root: RootRecord) -> List[str]:
    """The root user's findings (CIS AWS Foundations 1.4 to 1.6, and what central root access asks), in ROOT_REASONS order.

    A root user without a password cannot sign in: no MFA is no finding there (a member account whose root credentials
    the Organization deleted). With central root access enabled, any credential a member's root user still holds is one
    (the management account keeps its own root credentials).
    """
    found = set()
    if root.mfa_enabled is False and root.password_present is not False:
        found.add("root_without_mfa")
    if root.mfa_type == "virtual":
        found.add("root_virtual_mfa_only")
    if root.access_keys_present:
        found.add("root_access_keys")
    if root.credentials_management == "enabled" and root.organization_member and any(root.holds().values()):
        found.add("root_credentials_present")
    return [reason for reason in ROOT_REASONS if reason in found]


def root_record_of(fact: Dict) -> RootRecord:
    """The RootRecord behind a ``root`` fact (the fields ``root_reasons`` reads)."""
    return RootRecord(mfa_enabled=fact.get("mfa_enabled"), access_keys_present=fact.get("access_keys_present"), mfa_type=fact.get("mfa_type"),
                      credentials_management=fact.get("credentials_management") or "unknown", password_present=fact.get("password_present"),
                      signing_certificates_present=fact.get("signing_certificates_present"),
                      organization_member=fact.get("organization_member"))


@dataclass
class Gathered:
    """Everything one gathering run produced, before classification."""

    account_id: Optional[str]
    source: str
    report_generated_at: Optional[datetime]
    users: List[UserRecord]
    root: RootRecord
    warnings: List[str] = field(default_factory=list)
    caller_arn: Optional[str] = None  # who ran the gathering (sts:GetCallerIdentity)
    device_reads: int = 0  # ListMFADevices calls made for the devices the credential report cannot name
    # Users a credential report older than the run calls non-compliant or in grace, not read live: a fix made since is not seen.
    unverified_users: List[str] = field(default_factory=list)
    evidence: Optional["Evidence"] = None  # CloudTrail console sign-ins, when evidence_days > 0


@dataclass
class Evidence:
    """Where console sign-in evidence came from: CloudTrail LookupEvents over ``days`` in ``region``."""

    days: int
    region: Optional[str]
    events: int = 0  # ConsoleLogin events read
    calls: int = 0  # LookupEvents requests (pages), retries excluded
    root: SignIns = field(default_factory=SignIns)


def access(console_access: bool, active_keys: int) -> str:
    """How a user can reach AWS: ``console+keys``, ``console``, ``keys`` or ``none``."""
    parts = (["console"] if console_access else []) + (["keys"] if active_keys else [])
    return "+".join(parts) or "none"


def as_utc(when: Optional[datetime]) -> Optional[datetime]:
    """Make a datetime timezone-aware in UTC (naive values are taken as UTC, as IAM sends them)."""
    if when is None:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def days_between(earlier: Optional[datetime], later: datetime) -> Optional[int]:
    """Whole days from ``earlier`` to ``later`` (floored), or None when ``earlier`` is unknown."""
    if earlier is None:
        return None
    return (as_utc(later) - as_utc(earlier)).days


def key_too_old(age_days: Optional[int], limit_days: int) -> bool:
    """The one rule for "key too old", everywhere (the report's key_older_than_max_age, rotation being due and required at
    login): older than the limit, in whole days (pure). A key exactly ``limit_days`` old is not yet; unknown age is not."""
    return age_days is not None and age_days > limit_days


def isoformat(when: Optional[datetime]) -> Optional[str]:
    return as_utc(when).isoformat() if when is not None else None


def partition_of(arn: str) -> str:
    """The partition of an ARN: ``aws``, ``aws-us-gov``, ``aws-cn`` ... (``arn:PARTITION:service:...``)."""
    parts = (arn or "").split(":")
    if len(parts) < 6 or parts[0] != "arn" or not PARTITION.match(parts[1]):
        raise ValueError(f"{arn!r} is not an ARN")
    return parts[1]


def user_name_from_arn(arn: Optional[str]) -> Optional[str]:
    """The IAM user name of a caller ARN (``arn:aws:iam::1:user/path/name`` gives ``name``); None for roles and root.

    moto answers GetCallerIdentity for an MFA session with ``arn:aws:sts::...:user/moto``: that form counts as a user too.
    """
    match = re.match(r"^arn:[^:]+:(?:iam|sts)::\d*:user/(?:.*/)?([^/]+)$", arn or "")
    return match.group(1) if match else None


def plural(count: int, word: str, words: Optional[str] = None) -> str:
    """``1 user``, ``2 users`` (``words`` when the plural is not ``word`` + s)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"
