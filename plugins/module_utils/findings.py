# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report's findings one by one, as security tools take them: one finding per user and reason, and one per account's
root reason, each with an identifier that the same user and reason keep from run to run.

What Security Hub's findings (securityhub.py, ASFF) and the OCSF records (ocsf.py) share: which findings the facts hold,
their identifiers, titles, descriptions, remediations and severities. Pure functions of the facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from ansible_collections.awssec.mfa.plugins.module_utils.records import ROOT_REASONS, partition_of

# Every finding's generator (Security Hub's GeneratorId, OCSF's analytic uid) starts with this: it tells this collection's
# findings from every other product's in an account's Security Hub.
GENERATOR_PREFIX = "awssec.mfa/"

# (title, what it says, what to do) per reason: the texts of docs/findings.md and of the report's recommendations.
TEXTS = {
    "console_without_mfa": ("IAM user with console access has no MFA device",
                            "The user has a console password and no MFA device.",
                            "Set up an MFA device for the user, or remove the console password; then enforce MFA: "
                            "ansible-playbook awssec.mfa.enforce --check --diff"),
    "active_keys_without_mfa": ("IAM user with active access keys has no MFA device",
                                "The user has active access keys and no MFA device.",
                                "Set up an MFA device for the user and attach the MFA-required policy (lookup awssec.mfa.mfa_policy), "
                                "or deactivate the access keys"),
    "key_older_than_max_age": ("IAM user has an access key older than the maximum age",
                               "An active access key of the user is older than max_key_age_days.",
                               "Rotate the access key (awssec.mfa.access_key_rotate, or the rotate_keys playbook)"),
    "unused_credentials": ("IAM user has unused credentials",
                           "A password or active access key of the user has not been used for unused_credentials_days.",
                           "Remove the credentials that are not used (delete the login profile, deactivate the access key)"),
    "multiple_active_keys": ("IAM user has two active access keys",
                             "The user has two active access keys.",
                             "Keep one active access key per user: deactivate the key that is not used"),
    "virtual_mfa_only": ("IAM user has only virtual MFA devices",
                         "The user's MFA devices are all virtual (an authenticator app), and hardware MFA is required.",
                         "Issue the user a hardware MFA device or a security key"),
    "keys_not_mfa_protected": ("IAM user's access keys work without MFA",
                               "The user has an MFA device, but their active access keys sign requests without it: no policy on "
                               "the user or their groups denies requests made without MFA.",
                               "Attach the RequireMFA policy (lookup awssec.mfa.mfa_policy) to the user or one of their groups"),
    "not_phishing_resistant": ("IAM user's MFA is not phishing-resistant",
                               "The user's MFA devices are not all security keys (an authenticator app or a TOTP token).",
                               "Replace authenticator apps and TOTP tokens with security keys (FIDO2), which phishing cannot relay"),
    "signed_in_without_mfa": ("IAM user signed in to the console without MFA",
                              "CloudTrail recorded a successful console sign-in of the user without MFA within evidence_days.",
                              "Ask the user why they signed in without MFA, and check what they did (CloudTrail)"),
    "exemption_without_reason": ("IAM user is exempted from MFA without a reason",
                                 "The user's MFA exemption tag is empty: no reason and no end date, so exempted for ever.",
                                 "Give the exemption a reason and an end date (reason; until=YYYY-MM-DD), or remove it"),
    "exemption_expired": ("IAM user's MFA exemption has expired",
                          "The end date of the user's MFA exemption tag has passed: the user is no longer exempted.",
                          "Set up MFA for the user, or renew the exemption with a new end date"),
    "root_without_mfa": ("Root user has no MFA",
                         "The account's root user has a password (or it cannot be told) and no MFA device.",
                         "Enable MFA on the root user"),
    "root_virtual_mfa_only": ("Root user's MFA is a virtual device",
                              "The account's root user has a virtual MFA device; CIS 1.6 asks for hardware.",
                              "Give the root user a hardware MFA device or a security key instead of a virtual one (CIS 1.6)"),
    "root_access_keys": ("Root user has access keys",
                         "The account's root user has access keys.",
                         "Delete the root user's access keys"),
    "root_credentials_present": ("Member account's root user holds credentials",
                                 "The Organization manages root access centrally, and this member account's root user still "
                                 "holds a credential.",
                                 "From the management account, delete the root user's credentials with sts:AssumeRoot and the "
                                 "IAMDeleteRootUserCredentials task policy"),
}
# The severity of a user's finding is the user's risk; a root finding's is its own.
SEVERITY_OF_RISK = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"}
ROOT_SEVERITY = {"root_without_mfa": "CRITICAL", "root_access_keys": "CRITICAL", "root_credentials_present": "HIGH",
                 "root_virtual_mfa_only": "MEDIUM"}


@dataclass(frozen=True)
class Finding:
    """One finding: a user's reason (``user`` is the user's facts) or an account's root reason (``root``)."""
    account_id: str
    partition: str
    reason: str
    user: Optional[Dict] = None
    root: Optional[Dict] = None

    @property
    def id(self) -> str:
        return finding_id(self.account_id, self.reason, self.user["username"] if self.user else None)

    @property
    def generator_id(self) -> str:
        return GENERATOR_PREFIX + self.reason

    @property
    def title(self) -> str:
        return TEXTS[self.reason][0]

    @property
    def remediation(self) -> str:
        return TEXTS[self.reason][2]

    @property
    def severity(self) -> str:
        return ROOT_SEVERITY[self.reason] if self.user is None else SEVERITY_OF_RISK[self.user["risk"]]

    @property
    def resource_arn(self) -> str:
        """The user's ARN, or the account's root user's."""
        return self.user["arn"] if self.user else f"arn:{self.partition}:iam::{self.account_id}:root"

    @property
    def description(self) -> str:
        what = TEXTS[self.reason][1]
        if self.user is None:
            return f"{what} Account {self.account_id}."
        return f"{what} User {self.user['username']} of account {self.account_id}: {self.user['status']}, {self.user['risk']} risk."

    @property
    def note(self) -> Optional[str]:
        """The user's exemption or grace period, when they have one."""
        user = self.user or {}
        if user.get("status") == "exempted":
            exemption = user.get("exemption") or {}
            until = f" until {exemption['until']}" if exemption.get("until") else ""
            return f"Exempted{until}: {exemption.get('reason') or 'no reason given'}"
        if user.get("status") == "grace-period":
            return f"In the grace period: {user.get('grace_days_remaining')} days left to set up MFA"
        return None


def finding_id(account_id: str, reason: str, username: Optional[str] = None) -> str:
    """The identifier of a user's (or, without ``username``, the root user's) finding: the same from run to run."""
    return f"{GENERATOR_PREFIX}{account_id}/{'root' if username is None else 'user/' + username}/{reason}"


def _partition(facts: Dict, users: List[Dict]) -> str:
    for user in users:
        if user.get("arn"):
            return partition_of(user["arn"])
    return facts.get("partition") or "aws"


def each_finding(facts: Dict) -> List[Finding]:
    """Every finding of one account's facts (iam_mfa_facts) or of many accounts' (iam_mfa_org_facts, org_report): a user's
    reasons in the order the facts give them, then the root user's, account by account."""
    rows = facts.get("accounts")
    if rows is None:
        rows = [{"account_id": facts["account_id"], "status": "ok", "root": facts.get("root"), "partition": facts.get("partition")}]
    found = []
    for row in rows:
        if row.get("status") != "ok":
            continue
        account = row["account_id"]
        users = [u for u in facts["users"] if (u.get("account_id") or account) == account] if facts.get("accounts") is not None else facts["users"]
        partition = row.get("partition") or _partition(facts, users)
        found += [Finding(account, partition, reason, user=user) for user in users for reason in user["reasons"]]
        root = row.get("root") or {}
        found += [Finding(account, partition, reason, root=root) for reason in ROOT_REASONS if reason in (root.get("reasons") or ())]
    return found


def whole_accounts(facts: Dict) -> bool:
    """Whether the facts hold every user of their accounts (no include_users, no users option): only then does a user
    missing from them no longer exist, and their findings of earlier runs no longer hold."""
    options = facts.get("options") or {}
    return not options.get("include_users") and not options.get("users")
