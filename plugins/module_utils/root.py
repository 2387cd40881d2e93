# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The root user and the account's MFA devices: GetAccountSummary (MFA, keys, password), the assigned virtual MFA devices
(ListVirtualMFADevices: the root user's, and the IAM users' for the credential report), and whether the Organization
manages root credentials centrally (ListOrganizationsFeatures). ``iam`` is a retrying client (clients.retrying)."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.calls import paginate
from ansible_collections.awssec.mfa.plugins.module_utils.clients import retrying
from ansible_collections.awssec.mfa.plugins.module_utils.credential_report import report_time
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, aws_call, error_text
from ansible_collections.awssec.mfa.plugins.module_utils.records import RootRecord


def virtual_devices(iam, warnings: List[str]) -> Optional[List[Dict]]:
    """The assigned virtual MFA devices (the root user's included); None when the call is denied."""
    try:
        return aws_call(
            "list virtual MFA devices (iam:ListVirtualMFADevices)",
            paginate, iam, "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Assigned",
        )
    except AWSError as e:
        if e.code != "AccessDenied":
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
    in an Organization report (org.aggregate). ``iam`` is wrapped with clients.retrying here (fanout.org_facts asks it outside ``gather``)."""
    try:
        features = aws_call("list the Organization's root access features (iam:ListOrganizationsFeatures)", retrying(iam).list_organizations_features,
                            aws_retry=True)
    except AWSError as e:
        code = e.code
        if code in CREDENTIALS_MANAGEMENT_ERRORS:
            return CREDENTIALS_MANAGEMENT_ERRORS[code], None
        if code == "AccountNotManagementOrDelegatedAdministratorException":
            return "unknown", True
        warnings.append(f"centralized root access is reported as unknown: {error_text(e)}")
        return "unknown", None
    return ("enabled" if "RootCredentialsManagement" in features.get("EnabledFeatures", []) else "disabled"), False


def read_root(iam, devices: Optional[List[Dict]], report_row: Optional[Dict[str, str]], warnings: List[str]) -> RootRecord:
    summary = aws_call("get the account summary (iam:GetAccountSummary)", iam.get_account_summary, aws_retry=True)["SummaryMap"]
    mfa_enabled = bool(summary.get("AccountMFAEnabled"))
    last_used = report_time(report_row.get("password_last_used")) if report_row else None

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
