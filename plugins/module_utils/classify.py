# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Classification: a pure function from a user record and the options to status, risk and reasons.

No AWS call, no clock: ``now`` is a parameter, so every boundary is testable.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.iam_events import USER_NAME_RULE, is_user_name
from ansible_collections.awssec.mfa.plugins.module_utils.records import REASONS, UserRecord, as_utc, days_between, key_too_old

MAX_EVIDENCE_DAYS = 90  # CloudTrail's event history keeps 90 days
EVIDENCE_NEEDS_REGION = ("evidence_days needs a region: CloudTrail keeps the events of each Region apart "
                         "(set region to the one of the sign-in endpoint)")
EXEMPTION_UNTIL = re.compile(r"\buntil=(\S*)")


@dataclass(frozen=True)
class ClassifyOptions:
    """The options of classify(): which users (the selection) and how each is judged; shared by the modules (doc fragment ``selection``)."""

    grace_period_days: int = 7
    exclude_users: Sequence[str] = ()
    include_users: Sequence[str] = ()
    users: Sequence[str] = ()  # exact names: only these are read and considered; their classification is unchanged
    exempt_tag: str = "mfa-exempt"
    max_key_age_days: int = 90
    unused_credentials_days: int = 45
    require_hardware_mfa: bool = False
    require_mfa_policy_for_keys: bool = False
    require_phishing_resistant_mfa: bool = False
    evidence_days: int = 0  # CloudTrail console sign-ins of the last days (iam_mfa_facts only); 0: none
    key_ids: bool = False  # read the key ids of users with key findings (the credential report has none)
    max_report_age: int = 4 * 3600  # seconds; AWS serves a credential report up to 4 hours old

    @classmethod
    def from_params(cls, params: Dict) -> "ClassifyOptions":
        return cls(
            grace_period_days=params["grace_period_days"],
            exclude_users=tuple(params.get("exclude_users") or ()),
            include_users=tuple(params.get("include_users") or ()),
            users=tuple(params.get("users") or ()),
            exempt_tag=params["exempt_tag"],
            max_key_age_days=params["max_key_age_days"],
            unused_credentials_days=params["unused_credentials_days"],
            require_hardware_mfa=params["require_hardware_mfa"],
            require_mfa_policy_for_keys=params["require_mfa_policy_for_keys"],
            require_phishing_resistant_mfa=params["require_phishing_resistant_mfa"],
            evidence_days=params.get("evidence_days") or 0,
            key_ids=bool(params.get("key_ids")),
            max_report_age=params["max_report_age"],
        )


_DEFAULTS = ClassifyOptions()

# The argument spec of the options above, for every module that selects users (doc fragment ``selection``).
SELECTION_ARGSPEC = {
    "source": {"type": "str", "choices": ["credential_report", "live"], "default": "credential_report"},
    "grace_period_days": {"type": "int", "default": _DEFAULTS.grace_period_days},
    "exclude_users": {"type": "list", "elements": "str", "default": []},
    "include_users": {"type": "list", "elements": "str", "default": []},
    "users": {"type": "list", "elements": "str", "default": []},
    "exempt_tag": {"type": "str", "default": _DEFAULTS.exempt_tag},
    "max_key_age_days": {"type": "int", "default": _DEFAULTS.max_key_age_days, "no_log": False},
    "unused_credentials_days": {"type": "int", "default": _DEFAULTS.unused_credentials_days},
    "require_hardware_mfa": {"type": "bool", "default": _DEFAULTS.require_hardware_mfa},
    "require_mfa_policy_for_keys": {"type": "bool", "default": _DEFAULTS.require_mfa_policy_for_keys},
    "require_phishing_resistant_mfa": {"type": "bool", "default": _DEFAULTS.require_phishing_resistant_mfa},
    "max_report_age": {"type": "int", "default": _DEFAULTS.max_report_age},
}


def check_options(options: ClassifyOptions) -> List[str]:
    """Problems with the option values, each naming the option at fault."""
    problems = []
    for name in ("grace_period_days", "max_key_age_days", "unused_credentials_days", "max_report_age"):
        if getattr(options, name) < 0:
            problems.append(f"{name} must be 0 or more, not {getattr(options, name)}")
    if not 0 <= options.evidence_days <= MAX_EVIDENCE_DAYS:
        problems.append(f"evidence_days must be from 0 to {MAX_EVIDENCE_DAYS} (CloudTrail's event history), not {options.evidence_days}")
    if not options.exempt_tag:
        problems.append("exempt_tag must not be empty")
    problems += [f"users[{number}] is not an IAM user name ({USER_NAME_RULE})" for number, name in enumerate(options.users) if not is_user_name(name)]
    return problems


@dataclass
class Classification:
    status: str
    risk: str
    reasons: List[str]
    days_since_creation: int
    grace_days_remaining: Optional[int] = None
    exemption: Optional[Dict[str, Optional[str]]] = None
    warnings: List[str] = field(default_factory=list)


def first_match(name: str, patterns: Sequence[str]) -> Optional[str]:
    """The first shell-style glob in ``patterns`` that matches ``name`` (case-sensitive, as IAM names are)."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(name, pattern):
            return pattern
    return None


def is_selected(username: str, options: ClassifyOptions) -> bool:
    """``users`` (exact names) and ``include_users`` (globs) limit the report to the users they name or match; without
    them, everyone is in. Neither changes a selected user's classification but for ``include_users`` overriding
    ``exclude_users``."""
    if options.users and username not in options.users:
        return False
    return not options.include_users or first_match(username, options.include_users) is not None


def parse_exemption_tag(value: str) -> tuple:
    """Split an exemption tag value into (reason, until date).

    ``"contractor laptop; until=2026-03-31"`` gives ``("contractor laptop", date(2026, 3, 31))``.
    Raises ValueError for an ``until=`` that is not a YYYY-MM-DD date.
    """
    until = None
    found = EXEMPTION_UNTIL.search(value)
    if found:
        try:
            until = datetime.strptime(found.group(1), "%Y-%m-%d").date()
        except ValueError:
            raise ValueError(f"until={found.group(1)!r} is not a YYYY-MM-DD date")
        value = value[: found.start()] + value[found.end():]
    reason = value.strip(" \t;,") or None
    return reason, until


def _exemption(user: UserRecord, options: ClassifyOptions, today: date, warnings: List[str]) -> Tuple[Optional[Dict], Optional[str]]:
    """The user's exemption (None: not exempted) and what the reasons should say about it: ``exemption_expired`` (the tag's
    until= has passed: not exempted any more) or ``exemption_without_reason`` (an empty tag: exempted for ever, no why)."""
    pattern = first_match(user.username, options.exclude_users)
    if pattern is not None and first_match(user.username, options.include_users) is None:
        return {"reason": f"matches exclude_users pattern {pattern}", "until": None, "source": "pattern"}, None
    if options.exempt_tag not in user.tags:
        return None, None
    try:
        reason, until = parse_exemption_tag(user.tags[options.exempt_tag])
    except ValueError as e:
        warnings.append(f"user {user.username}: tag {options.exempt_tag} ignored: {e}")
        return None, None
    if until is not None and until < today:
        return None, "exemption_expired"
    exemption = {"reason": reason or f"tagged {options.exempt_tag}" + ("" if until else " with no reason and no end date"),
                 "until": until.isoformat() if until else None, "source": "tag"}
    return exemption, None if reason or until else "exemption_without_reason"


def _reasons(user: UserRecord, options: ClassifyOptions, now: datetime) -> List[str]:
    active = user.active_keys
    found = set()
    if user.console_access and not user.mfa_enabled:
        found.add("console_without_mfa")
    if active and not user.mfa_enabled:
        found.add("active_keys_without_mfa")
    if any(key_too_old(days_between(key.created, now), options.max_key_age_days) for key in active):
        found.add("key_older_than_max_age")
    if _has_unused_credentials(user, options.unused_credentials_days, now):
        found.add("unused_credentials")
    if len(active) > 1:
        found.add("multiple_active_keys")
    if options.require_hardware_mfa and user.mfa_enabled and all(d.type == "virtual" for d in user.mfa_devices):
        found.add("virtual_mfa_only")
    if active and user.mfa_enabled and user.keys_mfa_protected is False:
        found.add("keys_not_mfa_protected")
    if options.require_phishing_resistant_mfa and user.mfa_enabled and any(d.type != "security_key" for d in user.mfa_devices):
        found.add("not_phishing_resistant")
    if user.sign_ins is not None and user.sign_ins.without_mfa:
        found.add("signed_in_without_mfa")
    return [reason for reason in REASONS if reason in found]


def _required(options: ClassifyOptions) -> set:
    """The reasons that make a user with MFA non-compliant, as the options ask."""
    return {reason for reason, wanted in (("keys_not_mfa_protected", options.require_mfa_policy_for_keys),
                                          ("not_phishing_resistant", options.require_phishing_resistant_mfa)) if wanted}


def _has_unused_credentials(user: UserRecord, limit_days: int, now: datetime) -> bool:
    # A credential never used counts from the day it was created.
    idle = []
    if user.console_access:
        idle.append(days_between(user.password_last_used or user.password_created or user.created, now))
    for key in user.active_keys:
        idle.append(days_between(key.last_used or key.created, now))
    return any(days is not None and days > limit_days for days in idle)


# The findings that make a compliant or exempted user's risk medium (docs/findings.md's risk table).
MEDIUM_RISK_REASONS = frozenset(("console_without_mfa", "active_keys_without_mfa", "key_older_than_max_age", "unused_credentials",
                                 "multiple_active_keys", "keys_not_mfa_protected", "signed_in_without_mfa", "exemption_without_reason"))


def risk_of(status: str, reasons: Sequence[str]) -> str:
    """The risk from the status and every finding (pure): ``high`` for a non-compliant user; ``medium`` in the grace
    period, or for a compliant or exempted user with a finding of MEDIUM_RISK_REASONS; else ``low`` (no finding, or only
    weaker MFA than asked for, or an exemption that has expired)."""
    if status == "non-compliant":
        return "high"
    if status == "grace-period" or MEDIUM_RISK_REASONS.intersection(reasons):
        return "medium"
    return "low"


def classify(user: UserRecord, options: ClassifyOptions, now: datetime) -> Classification:
    now = as_utc(now)
    warnings: List[str] = []
    age = days_between(user.created, now)
    reasons = _reasons(user, options, now)
    exemption, note = _exemption(user, options, now.date(), warnings)
    reasons += [note] if note else []
    exposed = user.console_access or bool(user.active_keys)

    grace_days_remaining = None
    if exemption is not None:
        status = "exempted"
    elif (user.mfa_enabled and not set(reasons) & _required(options)) or not exposed:
        status = "compliant"
    elif age < options.grace_period_days:
        status = "grace-period"
        grace_days_remaining = options.grace_period_days - age
    else:
        status = "non-compliant"
    return Classification(
        status=status,
        risk=risk_of(status, reasons),
        reasons=reasons,
        days_since_creation=age,
        grace_days_remaining=grace_days_remaining,
        exemption=exemption,
        warnings=warnings,
    )
