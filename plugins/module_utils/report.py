# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rendering the ``iam_mfa`` facts as a report: table (plain text), JSON or CSV (Markdown and HTML: report_doc; OCSF: ocsf).

Pure functions of the facts, so the role, the filter plugin and any front end print the same report.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.facts import user_label
from ansible_collections.awssec.mfa.plugins.module_utils.records import KEY_REASONS, REASONS, ROOT_REASONS, access, plural

FORMATS = ("table", "json", "csv", "markdown", "html", "ocsf")
WIDTH = 100
# Compliance (%): at or above the target is good; from the warning level to the target, a warning; below it, bad.
COMPLIANCE_TARGET = 95
COMPLIANCE_WARNING = 80
STATUS_ROWS = (
    ("compliant", "Compliant", "Low"),
    ("non-compliant", "Non-compliant", "High"),
    ("grace-period", "Grace period", "Medium"),
    ("exempted", "Exempted", "Low (exempted)"),
)
CSV_FIELDS = (
    "username", "status", "risk", "reasons", "mfa_enabled", "mfa_types", "console_access",
    "active_keys", "inactive_keys", "oldest_active_key_days", "last_activity", "days_since_creation",
    "grace_days_remaining", "exemption_reason", "exemption_until", "created", "arn", "keys_mfa_protected",
    "sign_ins_without_mfa", "last_sign_in_without_mfa", "root_credentials", "root_password_last_used", "root_reasons", "access_keys",
)
MFA_LABELS = {"virtual": "Virtual", "hardware": "Hardware", "security_key": "Security key"}


def render_json(facts: Dict, trend: Optional[Dict] = None) -> str:
    return json.dumps(dict(facts, trends=trend) if trend else facts, indent=2) + "\n"


def _csv_row(user: Dict) -> Dict:
    active = [k for k in user["access_keys"] if k["status"] == "Active"]
    ages = [k["age_days"] for k in active if k["age_days"] is not None]
    exemption = user.get("exemption") or {}
    sign_ins = user.get("sign_ins_without_mfa")
    return {
        "username": user["username"],
        "status": user["status"],
        "risk": user["risk"],
        "reasons": ";".join(user["reasons"]),
        "mfa_enabled": str(user["mfa_enabled"]).lower(),
        "mfa_types": ";".join(sorted({d["type"] for d in user["mfa_devices"]})),
        "console_access": str(user["console_access"]).lower(),
        "active_keys": user["active_keys"],
        "inactive_keys": len(user["access_keys"]) - len(active),
        "oldest_active_key_days": max(ages) if ages else "",
        "last_activity": user["last_activity"] or "",
        "days_since_creation": user["days_since_creation"],
        "grace_days_remaining": "" if user["grace_days_remaining"] is None else user["grace_days_remaining"],
        "exemption_reason": exemption.get("reason") or "",
        "exemption_until": exemption.get("until") or "",
        "created": user["created"],
        "arn": user["arn"],
        "keys_mfa_protected": {True: "true", False: "false"}.get(user.get("keys_mfa_protected"), ""),
        "sign_ins_without_mfa": "" if sign_ins is None else sign_ins["count"],
        "last_sign_in_without_mfa": (sign_ins or {}).get("last") or "",
        "access_keys": "; ".join(keys_text(user)),
    }


def keys_text(user: Dict) -> List[str]:
    """Each key of the user as the report names it: ``key 1 created 2025-01-02, last used never`` (the credential report's
    numbering), with its id when it is known (``key 1 AKIA... created ...``) and ``inactive`` when it is."""
    return [f"key {n}" + (f" {k['access_key_id']}" if k.get("access_key_id") else "") + f" created {(k.get('created') or 'unknown')[:10]}, "
            f"last used {(k.get('last_used') or 'never')[:10]}" + (" (inactive)" if k["status"] != "Active" else "")
            for n, k in enumerate(user["access_keys"], 1)]


def render_csv(facts: Dict, trend: Optional[Dict] = None) -> str:
    """One row per user; an Organization report starts each row with the account."""
    with_account = bool(facts.get("accounts"))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=(("account_id", "account_name") if with_account else ()) + CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    roots_by_account = {a["account_id"]: _csv_root_fields(a.get("root") or {}) for a in facts.get("accounts") or [] if a["status"] == "ok"}
    single = _csv_root_fields(facts.get("root") or {})
    for user in facts["users"]:
        row = _csv_row(user)
        if with_account:
            row.update(account_id=user.get("account_id"), account_name=user.get("account_name"))
        row.update(roots_by_account.get(user.get("account_id"), {}) if with_account else single)
        writer.writerow(row)
    return out.getvalue()


def _csv_root_fields(root: Dict) -> Dict:
    """The account's root user, on each of its users' rows: what it holds, when its password was last used (``never``,
    ``unknown``) and its findings."""
    used = root.get("password_last_used") or ("never" if password_never_used(root) else "unknown")
    return {"root_credentials": root.get("credentials") or "unknown", "root_password_last_used": used,
            "root_reasons": ";".join(root.get("reasons") or ())}


# --- table ----------------------------------------------------------------------------------


def box(headers: Sequence[str], rows: Sequence[Sequence], footer: Optional[Sequence] = None) -> List[str]:
    """A table drawn with box characters, each column as wide as its widest cell."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(headers)]
    if footer:
        widths = [max(w, len(str(f))) for w, f in zip(widths, footer)]

    def line(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    def row(values: Sequence) -> str:
        return "│" + "│".join(f" {str(v):<{w}} " for v, w in zip(values, widths)) + "│"

    lines = [line("┌", "┬", "┐"), row(headers), line("├", "┼", "┤")]
    lines += [row(r) for r in cells]
    if footer:
        lines += [line("├", "┼", "┤"), row(footer)]
    lines.append(line("└", "┴", "┘"))
    return lines


def percent_text(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _mfa_cell(user: Dict) -> str:
    if not user["mfa_enabled"]:
        return "None"
    labels = sorted({MFA_LABELS[d["type"]] for d in user["mfa_devices"] if d["type"] in MFA_LABELS})
    return " + ".join(labels) or "Enabled"


def _keys_cell(user: Dict) -> str:
    active = user["active_keys"]
    inactive = len(user["access_keys"]) - active
    if not user["access_keys"]:
        return "0 Keys"
    unguarded = " (work without MFA)" if user.get("keys_mfa_protected") is False and user["mfa_enabled"] else ""
    return f"{active} Active" + (f", {inactive} Inactive" if inactive else "") + unguarded


def _assessment_cell(user: Dict) -> str:
    if user["status"] == "grace-period":
        return f"Grace Period ({user['grace_days_remaining']}d left)"
    return {"compliant": "Compliant", "non-compliant": "High Risk", "exempted": "Exempted"}[user["status"]]


def evidence_line(evidence: Dict) -> str:
    return (f"Sign-in evidence: CloudTrail, the last {plural(evidence['days'], 'day')} in {evidence['region']} "
            f"({plural(evidence['events'], 'ConsoleLogin event')})")


def _banner(title: str, subtitle: str) -> List[str]:
    rule = "═" * WIDTH
    return [rule, title.center(WIDTH).rstrip(), subtitle.center(WIDTH).rstrip(), rule]


def _names(names: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _bullets(items: Sequence[str]) -> List[str]:
    return [f"  • {item}" for item in items]


def recommendations(facts: Dict) -> List[str]:
    """What to do next, from the facts; empty when there is nothing to do."""
    users, summary, options = facts["users"], facts["summary"], facts.get("options", {})

    def having(reason: str, status: Optional[str] = None) -> int:
        return sum(1 for u in users if reason in u["reasons"] and (status is None or u["status"] == status))

    advice = []
    if summary["console_without_mfa"]:
        advice.append(f"Focus on the non-compliant console users without MFA ({plural(len(summary['console_without_mfa']), 'user')})")
    if summary["active_keys_without_mfa"]:
        advice.append(f"Disable or protect the access keys of the non-compliant users without MFA ({plural(len(summary['active_keys_without_mfa']), 'user')})")
    if summary["counts"]["non-compliant"]:
        advice.append("Attach the MFA-required policy and enforce it: ansible-playbook awssec.mfa.enforce --check --diff")
    if having("key_older_than_max_age"):
        advice.append(f"Rotate access keys older than {options.get('max_key_age_days', 90)} days ({plural(having('key_older_than_max_age'), 'user')})")
    if having("unused_credentials"):
        advice.append(
            f"Remove credentials unused for more than {options.get('unused_credentials_days', 45)} days ({plural(having('unused_credentials'), 'user')})"
        )
    if having("multiple_active_keys"):
        advice.append(f"Keep one active access key per user ({plural(having('multiple_active_keys'), 'user has', 'users have')} two)")
    if having("keys_not_mfa_protected"):
        advice.append("Make access keys need MFA too: attach the RequireMFA policy (lookup awssec.mfa.mfa_policy) to the users "
                      f"with MFA whose keys work without it ({plural(having('keys_not_mfa_protected'), 'user')})")
    if having("not_phishing_resistant"):
        advice.append("Replace authenticator apps and TOTP tokens with security keys, which phishing cannot relay "
                      f"({plural(having('not_phishing_resistant'), 'user')})")
    if having("signed_in_without_mfa"):
        advice.append(f"Ask why {plural(having('signed_in_without_mfa'), 'user')} signed in to the console without MFA in the last "
                      f"{options.get('evidence_days')} days, and check what they did (CloudTrail)")
    if having("virtual_mfa_only"):
        advice.append(f"Issue hardware MFA devices ({plural(having('virtual_mfa_only'), 'user has', 'users have')} virtual MFA only)")
    if summary["counts"]["grace-period"]:
        advice.append(f"Remind users in their grace period to set up MFA ({plural(summary['counts']['grace-period'], 'user')})")
    if summary["counts"]["exempted"]:
        advice.append(f"Review exemptions regularly ({plural(summary['counts']['exempted'], 'user')})")
    advice += [ROOT_ADVICE[reason] + (f" ({plural(len(where), 'account')}: {_names(where)})" if facts.get("accounts") else "")
               for reason, where in root_findings(facts)]
    return advice


ROOT_ADVICE = {
    "root_without_mfa": "Enable MFA on the root user",
    "root_virtual_mfa_only": "Give the root user a hardware MFA device or a security key instead of a virtual one (CIS 1.6)",
    "root_access_keys": "Delete the root user's access keys",
    "root_credentials_present": ("Delete the root user's credentials centrally: the Organization manages root access, so from its "
                                 "management account use sts:AssumeRoot with the IAMDeleteRootUserCredentials task policy"),
}


def root_findings(facts: Dict) -> List[tuple]:
    """(root reason, the accounts whose root user has it) for each reason found."""
    found = [(reason, [name.rstrip(": ") or "this account" for name, root in roots(facts) if reason in (root.get("reasons") or ())])
             for reason in ROOT_REASONS]
    return [(reason, where) for reason, where in found if where]


def root_cells(root: Dict) -> Tuple[str, str, str, str, str]:
    """The root user's credentials, MFA, access keys, last password use and centralized root access, as report cells."""
    mfa = "NOT ENABLED" if not root.get("mfa_enabled") else f"enabled ({root['mfa_type']})" if root.get("mfa_type") else "enabled"
    if root.get("credentials") == "none":
        mfa = "not needed (no credentials)" if not root.get("mfa_enabled") else mfa
    return (root_credentials_cell(root), mfa, "PRESENT" if root.get("access_keys_present") else "none", password_used_cell(root),
            root.get("credentials_management") or "unknown")


def root_credentials_cell(root: Dict) -> str:
    """What the root user holds, and what it lacks: ``none (no password, access keys or signing certificates)``,
    ``password, access keys``, or ``unknown``."""
    credentials = root.get("credentials") or "unknown"
    if credentials == "none":
        return "none (no password, access keys or signing certificates)"
    unknown = credentials != "unknown" and root.get("password_present") is None
    return credentials.replace(",", ", ").replace("_", " ") + (" (password unknown)" if unknown else "")


def password_used_cell(root: Dict) -> str:
    """When the root user's password was last used: a whole date and time (UTC), ``never`` or ``unknown``."""
    used = root.get("password_last_used")
    if used:
        return used.replace("T", " ")[:16] + " UTC"
    return "never" if password_never_used(root) else "unknown"


def password_never_used(root: Dict) -> bool:
    """Whether the root user's password was never used: the credential report's root row names no use, or there is no password."""
    return bool(root.get("password_never_used")) or root.get("password_present") is False


ROOT_HEADERS = ("Root credentials", "Root MFA", "Root access keys", "Root password last used", "Centralized root access")


def findings(users: Sequence[Dict]) -> List[tuple]:
    """(reason, the users with it) for each reason found, whatever their status."""
    found = [(reason, [u for u in users if reason in u["reasons"]]) for reason in REASONS]
    return [(reason, having) for reason, having in found if having]


def breakdown(users: Sequence[Dict]) -> str:
    """``12: 9 non-compliant, 3 grace-period``: how many, by status (``12 in 4 accounts: ...`` for an Organization)."""
    by_status = [(status, sum(1 for u in users if u["status"] == status)) for status, dummy, dummy2 in STATUS_ROWS]
    accounts = {u["account_id"] for u in users if u.get("account_id")}
    where = f" in {plural(len(accounts), 'account')}" if accounts else ""
    return f"{len(users)}{where}: " + ", ".join(f"{n} {status}" for status, n in by_status if n)


def roots(facts: Dict) -> List[tuple]:
    """("account: " or "", its root user facts) per account reported (one row for one account)."""
    accounts = [a for a in facts.get("accounts") or [] if a["status"] == "ok"]
    if not facts.get("accounts"):
        return [("", facts.get("root") or {})]
    return [(f"{a['account_name']} ({a['account_id']}): ", a.get("root") or {}) for a in accounts]


def render_table(facts: Dict, trend: Optional[Dict] = None) -> str:
    users, summary = facts["users"], facts["summary"]
    lines = _banner("IAM MFA COMPLIANCE REPORT", "Multi-Factor Authentication Status")
    source = facts["source"]
    if facts.get("report_generated_at"):
        source += f" (generated {facts['report_generated_at']})"
    lines += [f"Account: {facts.get('account_id') or 'unknown'}   Generated: {facts['generated_at']}   Source: {source}"]
    if facts.get("evidence"):
        lines.append(evidence_line(facts["evidence"]))
    lines.append("")
    if facts.get("accounts"):
        lines.append("ACCOUNTS:")
        lines += box(("Account", "ID", "Users", "Compliant", "Non-compliant", "Compliance"), [
            (a["account_name"], a["account_id"], a["summary"]["total"], a["summary"]["counts"]["compliant"],
             a["summary"]["counts"]["non-compliant"], percent_text(a["summary"]["compliance_pct"])) if a["summary"]
            else (a["account_name"], a["account_id"], "FAILED", "", "", "see below")
            for a in facts["accounts"]])
        lines += _bullets(f"{a['account_name']} ({a['account_id']}) FAILED: {a['error']}" for a in facts["accounts"] if not a["summary"])
        lines.append("")

    lines.append("MFA COMPLIANCE SUMMARY:")
    rows = [(label, summary["counts"][s], percent_text(summary["percentages"][s]), risk) for s, label, risk in STATUS_ROWS]
    lines += box(("Status", "Count", "Percentage", "Risk Level"), rows, footer=("Total", summary["total"], "", ""))
    lines.append("")

    lines.append("DETAILED USER ANALYSIS:")
    with_account = any(u.get("account_name") for u in users)
    if users:
        rows = [
            ((u["account_name"],) if with_account else ()) + (
                u["username"], _mfa_cell(u), "Yes" if u["console_access"] else "No", _keys_cell(u),
                (u["last_activity"] or "Never")[:10], _assessment_cell(u),
            )
            for u in users
        ]
        headers = ("Username", "MFA Status", "Console Access", "Access Keys", "Last Activity", "Risk Assessment")
        lines += box((("Account",) if with_account else ()) + headers, rows)
    else:
        lines.append("  No users.")
    lines.append("")

    by_name = {user_label(u): u for u in users}
    lines.append("HIGH-RISK USERS (Console Access + No MFA):")
    if summary["console_without_mfa"]:
        lines += _bullets(f"{name}: Console access without MFA protection" for name in summary["console_without_mfa"])
        lines.append("  Priority: Immediate action required")
    else:
        lines.append("  None.")
    lines.append("")
    lines.append("ACCESS KEY RISKS (Active Keys + No MFA):")
    if summary["active_keys_without_mfa"]:
        lines += _bullets(
            f"{name}: {by_name[name]['active_keys']} active access key{'s' if by_name[name]['active_keys'] > 1 else ''} without MFA"
            for name in summary["active_keys_without_mfa"]
        )
        lines.append("  Priority: Disable or require MFA immediately")
    else:
        lines.append("  None.")
    lines.append("")

    held = [u for u in users if u["status"] in ("exempted", "grace-period")]
    if held:
        lines.append("EXEMPTIONS AND GRACE PERIODS:")
        for u in held:
            if u["status"] == "exempted":
                until = f", until {u['exemption']['until']}" if u["exemption"].get("until") else ""
                lines.append(f"  • {user_label(u)}: exempted ({u['exemption']['reason']}{until})")
            else:
                lines.append(f"  • {user_label(u)}: grace period, {plural(u['grace_days_remaining'], 'day')} remaining")
        lines.append("")

    lines.append("FINDINGS BY REASON (every status, exempted and grace-period users included):")
    lines += _bullets(f"{reason} ({breakdown(found)}): {_names([user_label(u) for u in found])}" for reason, found in findings(users)) or ["  None."]
    lines.append("")
    keyed = [u for u in users if u["access_keys"] and KEY_REASONS.intersection(u["reasons"])]
    if keyed:
        lines.append("ACCESS KEYS OF USERS WITH KEY FINDINGS:")
        lines += _bullets(f"{user_label(u)}: {'; '.join(keys_text(u))}" for u in keyed)
        lines.append("")

    lines.append("ROOT USER:")
    for name, root in roots(facts):
        credentials, mfa, keys, used, central = root_cells(root)
        found = f"   Findings: {', '.join(root['reasons'])}" if root.get("reasons") else ""
        lines += _bullets([f"{name}Credentials: {credentials}   MFA: {mfa}   Access keys: {keys}   Password last used: {used}   "
                           f"Centralized root access: {central}{found}"])
    lines.append("")

    lines.append("COMPLIANCE TRENDS:")
    if trend:
        change = "" if trend["compliance_change"] is None else f" ({trend['compliance_change']:+.1f} points)"
        lines += _bullets([
            f"Since {trend['previous_generated_at']}: {percent_text(trend['compliance_pct_before'])} -> {percent_text(trend['compliance_pct_now'])}{change}",
            f"Newly non-compliant: {_names(trend['newly_non_compliant']) if trend['newly_non_compliant'] else 'none'}",
            f"Fixed: {_names(trend['fixed']) if trend['fixed'] else 'none'}",
        ])
    lines += _bullets([
        f"Overall compliance: {percent_text(summary['compliance_pct'])} (Target: {COMPLIANCE_TARGET}%+)",
        f"Console users with MFA: {percent_text(summary['console_users_with_mfa_pct'])} (Target: 100%)",
        f"Users with active keys + MFA: {percent_text(summary['key_users_with_mfa_pct'])} (Target: 100%)",
    ])
    lines.append("")

    lines.append("RECOMMENDATIONS:")
    lines += _bullets(recommendations(facts) or ["None: every user is compliant."])
    return "\n".join(lines) + "\n"


# --- enforcement preview and results ----------------------------------------------------------

ACCESS_LABELS = {"console+keys": "Keys + Console", "console": "Console Only", "keys": "Keys Only", "none": "No Access"}
ACTION_LABELS = (
    ("disable_key", "Disable {n} key{s}"),
    ("enable_key", "Re-enable {n} key{s}"),
    ("delete_login_profile", "Disable console"),
    ("attach_policy", "Attach policy"),
    ("protect_keys", "Attach policy (keys need MFA)"),
    ("detach_policy", "Detach policy"),
    ("remove_tags", "Remove tags"),
)
SKIP_LABELS = {
    "mfa_enabled_since_report": "MFA enabled since the report",
    "keys_protected_since_report": "Keys need MFA already",
    "caller_identity": "Runs this play (never acted on)",
    "still_without_mfa": "Still without MFA",
}


def action_label(actions: Sequence[str]) -> str:
    verbs = [a.split(":", 1)[0] for a in actions]
    parts = [label.format(n=verbs.count(verb), s="s" if verbs.count(verb) > 1 else "") for verb, label in ACTION_LABELS if verb in verbs]
    return ", ".join(parts) or "No action"


def access_after(state: Optional[Dict]) -> str:
    """What a user can still do once the actions are done."""
    if not state:
        return "Unknown"
    active = sum(1 for status in state["access_keys"].values() if status == "Active")
    if state["mfa_enabled"]:
        return "MFA enabled" + ("; keys need MFA (policy)" if state["policy_attached"] else "")
    if not state["console_access"] and not active:
        return "No AWS access"
    reach = ACCESS_LABELS[access(state["console_access"], active)]
    return reach + (" (MFA required by policy)" if state["policy_attached"] else "")


def _enforcement_row(entry: Dict, check_mode: bool) -> tuple:
    if entry["result"] == "skipped":
        action, outcome = "No action", SKIP_LABELS.get(entry.get("reason"), entry.get("reason"))
    elif entry["result"] == "failed":
        action, outcome = "FAILED: " + action_label(entry["actions"]) + " done", entry["error"]
    elif not entry["actions"]:
        action, outcome = "No action", "Already enforced; " + access_after(entry.get("after"))
    else:
        action, outcome = action_label(entry["actions"]), access_after(entry.get("after"))
    third = entry["justification"] if check_mode else outcome
    return (entry["username"], ACCESS_LABELS.get(entry["access"], entry["access"]), action, third)


WARN_ONLY_HINT = ("Only a warning: nothing is enforced. To enforce, run without mfa_enforce_notify_warn_only "
                  "(the MFA guard: mfa_guard_enforce=true).")


def render_enforcement(result: Dict, check_mode: bool, apply_hint: str = "Run without --check to apply these actions.",
                       warn_only: bool = False) -> str:
    """The enforcement preview (check mode) or results, from the return value of iam_mfa_enforce.

    ``apply_hint`` ends a preview that would change something: how to apply it, in the words of the
    command that previewed it (the playbook's ``--check``, the command line's ``--apply``). ``warn_only``: the preview
    of a run that only warns the users (mfa_enforce_notify_warn_only, the MFA guard's default), in its own words."""
    check_mode = check_mode or warn_only
    apply_hint = WARN_ONLY_HINT if warn_only else apply_hint
    summary, entries = result["summary"], result["actions"]
    restoring = result.get("state") == "restored"
    title = "IAM MFA " + ("RESTORE " if restoring else "ENFORCEMENT ") + ("PREVIEW" if check_mode else "COMPLETE")
    lines = _banner(title, "Planned compliance enforcement actions" if check_mode else "Compliance enforcement actions taken")
    mode = ("[WARNING ONLY] Nothing was changed; the users are warned of what enforcement would do." if warn_only
            else "[CHECK MODE] Nothing was changed; these are the planned actions." if check_mode else "Enforcement actions completed.")
    lines += ["", mode, ""]
    headers = ("Username", "Current Status", "Planned Action", "Justification") if check_mode else (
        "Username", "Previous Status", "Action Taken", "Current Status")
    rows = [_enforcement_row(e, check_mode) for e in entries]
    rows += [(g["username"], "Grace period", "No action", f"Within grace period ({plural(g['days_remaining'], 'day')} remaining)")
             for g in summary["grace_period"]]
    rows += [(x["username"], "Exempted", "No action", f"Exempted: {x['reason']}" + (f" until {x['until']}" if x["until"] else ""))
             for x in summary["exempted"]]
    lines.append("ENFORCEMENT TARGETS:" if not restoring else "RESTORE TARGETS:")
    lines += box(headers, rows) if rows else ["  No users to act on."]
    lines.append("")

    keys_users = sum(1 for e in entries if e["result"] != "skipped" and any(a.startswith("disable_key:") for a in e["actions"]))

    def did(would: str, done: str) -> str:
        return would if check_mode else done
    done = [
        (summary["keys_disabled"], f"{did('Would disable', 'Disabled')} {plural(summary['keys_disabled'], 'access key')} of "
                                   f"{plural(keys_users, 'user')}"),
        (summary["policies_attached"], f"{did('Would attach', 'Attached')} the MFA-required policy to {plural(summary['policies_attached'], 'user')}"
                                       + (f", {summary['keys_protected']} of them with MFA, whose access keys then need MFA too (keys left active)"
                                          if summary.get("keys_protected") else "")),
        (summary["consoles_disabled"], f"{did('Would disable', 'Disabled')} console access (delete the password) of "
                                       f"{plural(summary['consoles_disabled'], 'user')}"),
        (summary.get("keys_enabled"), f"{did('Would re-enable', 'Re-enabled')} {plural(summary.get('keys_enabled') or 0, 'access key')}"),
        (summary.get("policies_detached"), f"{did('Would detach', 'Detached')} the MFA-required policy from "
                                           f"{plural(summary.get('policies_detached') or 0, 'user')}"),
    ]
    lines.append("PLANNED ENFORCEMENT ACTIONS:" if check_mode else "ACTIONS COMPLETED:")
    items = [text for count, text in done if count]
    if result.get("policy_change") in ("create", "update"):
        change = {"create": ("Would create", "Created"), "update": ("Would update", "Updated")}[result["policy_change"]]
        items.append(f"{did(*change)} the policy {result.get('policy_arn')}")
    items = items or ["Nothing to change"]
    if summary["skipped"]:
        items.append(f"{plural(summary['skipped'], 'user')} skipped: " + _names([e["username"] for e in entries if e["result"] == "skipped"]))
    if summary["failed"]:
        items.append(f"{plural(summary['failed'], 'user')} FAILED: " + _names([e["username"] for e in entries if e["result"] == "failed"]))
    held = len(summary["exempted"]) + len(summary["grace_period"])
    if held:
        items.append(f"{plural(held, 'user')} left alone ({len(summary['exempted'])} exempted, {len(summary['grace_period'])} in grace period)")
    lines += _bullets(items)
    lines.append("")
    losing = summary["users_affected"] - (summary.get("keys_protected") or 0)
    if check_mode and summary["users_affected"] and not restoring:
        lines.append("IMPACT ASSESSMENT:")
        impact = [
            f"{plural(losing, 'user')} {'would lose AWS access, once enforced,' if warn_only else 'will lose AWS access'} until they set up MFA",
            "Applications using the disabled access keys will fail",
            "For users who set up MFA, the keys can be re-enabled and the policy detached: "
            "ansible-playbook awssec.mfa.enforce -e mfa_enforce_state=restored",
        ] if losing else []
        if summary.get("keys_protected"):
            impact.append(f"Requests signed with the access keys of {plural(summary['keys_protected'], 'user')} with MFA will be refused "
                          "unless made with an MFA session (aws_mfa_session): scripts using those keys directly will fail")
        if summary["consoles_disabled"]:
            impact.append(f"The console passwords of {plural(summary['consoles_disabled'], 'user')} will be deleted: "
                          "a deleted password cannot be restored, an administrator must set a new one")
        lines += _bullets(impact)
        lines += ["", apply_hint]
    if check_mode and result.get("over_max_affected"):
        count = len(result["over_max_affected"])
        lines += ["", f"Applying this plan would be refused: {count} users would be acted on, more than max_affected; raise it to at "
                      f"least {count} to apply it (or narrow the users)."]
    elif not check_mode and summary["users_affected"] and not restoring:
        lines.append("NEXT STEPS:")
        lines += _bullets([
            "Ask the affected users to set up MFA (IAM > Users > Security credentials > Assign MFA device)",
            "Once they have, re-enable exactly what was disabled: ansible-playbook awssec.mfa.enforce -e mfa_enforce_state=restored",
            "Schedule a follow-up report: ansible-playbook awssec.mfa.report",
        ])
    return "\n".join(lines).rstrip() + "\n"
