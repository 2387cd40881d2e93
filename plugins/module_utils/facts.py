# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``iam_mfa`` facts: classified user records, the summary and the root account, as plain data."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional

from ansible_collections.awssec.mfa.plugins.module_utils.classify import (
    EVIDENCE_NEEDS_REGION,
    SELECTION_ARGSPEC,
    Classification,
    ClassifyOptions,
    check_options,
    classify,
)
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter, fast_timestamps
from ansible_collections.awssec.mfa.plugins.module_utils.gather import gather
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import LIVE_READS_ARGSPEC, check_concurrency
from ansible_collections.awssec.mfa.plugins.module_utils.records import (
    RISKS,
    STATUSES,
    Gathered,
    SignIns,
    UserRecord,
    days_between,
    isoformat,
    partition_of,
    root_reasons,
)


def user_fact(user: UserRecord, classified: Classification, now: datetime) -> Dict:
    """One entry of ``users``: what was read, then what it means."""
    return {
        "username": user.username,
        "arn": user.arn,
        "created": isoformat(user.created),
        "days_since_creation": classified.days_since_creation,
        "mfa_enabled": user.mfa_enabled,
        "mfa_devices": [{"serial": d.serial, "type": d.type} for d in user.mfa_devices],
        "console_access": user.console_access,
        "password_last_used": isoformat(user.password_last_used),
        "access_keys": [
            {
                "access_key_id": key.access_key_id,
                "status": key.status,
                "created": isoformat(key.created),
                "age_days": days_between(key.created, now),
                "last_used": isoformat(key.last_used),
            }
            for key in user.access_keys
        ],
        "active_keys": len(user.active_keys),
        "keys_mfa_protected": user.keys_mfa_protected if user.active_keys else None,
        "sign_ins_without_mfa": sign_ins_fact(user.sign_ins),
        "last_activity": isoformat(user.last_activity),
        "status": classified.status,
        "risk": classified.risk,
        "reasons": classified.reasons,
        "grace_days_remaining": classified.grace_days_remaining,
        "exemption": classified.exemption,
    }


def sign_ins_fact(sign_ins: Optional[SignIns]) -> Optional[Dict]:
    """Console sign-ins without MFA in the evidence window; None when no evidence was gathered."""
    if sign_ins is None:
        return None
    return {"count": sign_ins.without_mfa, "last": isoformat(sign_ins.last_without_mfa)}


def percentage(part: int, whole: int) -> Optional[float]:
    return round(100.0 * part / whole, 1) if whole else None


def user_label(user: Dict) -> str:
    """A user's name in lists: ``account/user`` in a report of many accounts, where names repeat across accounts."""
    return f"{user['account_name']}/{user['username']}" if user.get("account_name") else user["username"]


def summarize(users: List[Dict]) -> Dict:
    """Counts and percentages over classified user facts."""
    total = len(users)
    counts = {status: sum(1 for u in users if u["status"] == status) for status in STATUSES}
    console = [u for u in users if u["console_access"]]
    with_keys = [u for u in users if u["active_keys"]]
    high_risk = [u for u in users if u["status"] == "non-compliant"]
    return {
        "total": total,
        "counts": counts,
        "percentages": {status: percentage(count, total) for status, count in counts.items()},
        "risk_counts": {risk: sum(1 for u in users if u["risk"] == risk) for risk in RISKS},
        "compliance_pct": percentage(counts["compliant"], total),
        "console_users_with_mfa_pct": percentage(sum(1 for u in console if u["mfa_enabled"]), len(console)),
        "key_users_with_mfa_pct": percentage(sum(1 for u in with_keys if u["mfa_enabled"]), len(with_keys)),
        "console_without_mfa": [user_label(u) for u in high_risk if "console_without_mfa" in u["reasons"]],
        "active_keys_without_mfa": [user_label(u) for u in high_risk if "active_keys_without_mfa" in u["reasons"]],
    }


def build_facts(gathered: Gathered, options: ClassifyOptions, now: datetime, api_calls: int) -> Dict:
    """The ``iam_mfa`` fact for one account."""
    users = []
    warnings = list(gathered.warnings)
    for user in sorted(gathered.users, key=lambda u: u.username):
        classified = classify(user, options, now)
        warnings.extend(classified.warnings)
        users.append(user_fact(user, classified, now))
    return {
        "account_id": gathered.account_id,
        "partition": partition_of(gathered.caller_arn) if gathered.caller_arn else None,
        "generated_at": isoformat(now),
        "source": gathered.source,
        "report_generated_at": isoformat(gathered.report_generated_at),
        "report_age_seconds": None if gathered.report_generated_at is None else int((now - gathered.report_generated_at).total_seconds()),
        "api_calls": api_calls,
        "options": {
            "grace_period_days": options.grace_period_days,
            "exclude_users": list(options.exclude_users),
            "include_users": list(options.include_users),
            "users": list(options.users),
            "exempt_tag": options.exempt_tag,
            "max_key_age_days": options.max_key_age_days,
            "unused_credentials_days": options.unused_credentials_days,
            "require_hardware_mfa": options.require_hardware_mfa,
            "require_mfa_policy_for_keys": options.require_mfa_policy_for_keys,
            "require_phishing_resistant_mfa": options.require_phishing_resistant_mfa,
            "evidence_days": options.evidence_days,
            "key_ids": options.key_ids,
            "max_report_age": options.max_report_age,
        },
        "users": users,
        "summary": summarize(users),
        "root": {
            "mfa_enabled": gathered.root.mfa_enabled,
            "mfa_type": gathered.root.mfa_type,
            "access_keys_present": gathered.root.access_keys_present,
            "password_last_used": isoformat(gathered.root.password_last_used),
            "password_never_used": gathered.root.password_never_used,
            "password_present": gathered.root.password_present,
            "signing_certificates_present": gathered.root.signing_certificates_present,
            "credentials": gathered.root.credentials,
            "organization_member": gathered.root.organization_member,
            "credentials_management": gathered.root.credentials_management,
            "sign_ins_without_mfa": sign_ins_fact(gathered.evidence and gathered.evidence.root),
            "reasons": root_reasons(gathered.root),
        },
        "mfa_device_reads": gathered.device_reads,
        "report_unverified_users": list(gathered.unverified_users),
        "evidence": None if gathered.evidence is None else {
            "days": gathered.evidence.days,
            "region": gathered.evidence.region,
            "events": gathered.evidence.events,
            "calls": gathered.evidence.calls,
        },
        "warnings": warnings,
    }


# iam_mfa_facts' parameters (the module, the command line and the Python API take the same, with these defaults).
FACTS_ARGSPEC = dict(SELECTION_ARGSPEC, **LIVE_READS_ARGSPEC, evidence_days={"type": "int", "default": 0}, key_ids={"type": "bool", "default": False})


def check_facts_params(params: Dict, region: Optional[str]) -> List[str]:
    """What is wrong with iam_mfa_facts' parameters (nothing: an empty list), found before any call. iam_mfa_org_facts
    checks the parameters it shares with iam_mfa_facts here too."""
    problems = check_options(ClassifyOptions.from_params(params)) + check_concurrency(params["concurrency"])
    if params["evidence_days"] and not region:
        problems.append(EVIDENCE_NEEDS_REGION)
    return problems


def account_facts(client: Callable[[str], object], params: Dict) -> Dict:
    """iam_mfa_facts' facts of the account that ``client(service)``'s clients reach. Raises AWSError."""
    options = ClassifyOptions.from_params(params)
    counter = CallCounter()
    # No region set: botocore picks IAM's and STS's global endpoint (of the aws partition; name a region for another).
    iam = counter.watch(fast_timestamps(client("iam")))
    sts = counter.watch(client("sts"))
    cloudtrail = counter.watch(fast_timestamps(client("cloudtrail"))) if options.evidence_days else None
    gathered = gather(iam, sts, params["source"], options, cloudtrail=cloudtrail, concurrency=params["concurrency"])
    return build_facts(gathered, options, datetime.now(timezone.utc), counter.count)
