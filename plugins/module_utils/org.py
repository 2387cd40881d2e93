# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Many accounts' ``iam_mfa`` facts as one report, and the trends against a previous report (pure functions)."""

from __future__ import annotations

import re
from typing import Dict, List, Optional

from ansible_collections.awssec.mfa.plugins.module_utils.facts import summarize, user_label
from ansible_collections.awssec.mfa.plugins.module_utils.records import ROOT_REASONS, root_reasons, root_record_of


def account_hosts(static, organization_accounts, management_id, role_name, include_management, partition="aws", caller_account=None):
    """The accounts as host records (pure): Organization accounts first, then static ones (which win on the same ID).

    ``partition`` is the Organization's (from its ARN): role ARNs in GovCloud and China are not ``arn:aws:``.
    The account of the run's credentials (``caller_account``) is reached with them; every other through ``role_name``.
    """
    hosts = {}
    for account in organization_accounts:
        if (account.get("Status") or account.get("State")) != "ACTIVE":
            continue
        if account["Id"] == management_id and not include_management:
            continue
        hosts[account["Id"]] = {
            "account_id": account["Id"], "account_name": account.get("Name") or account["Id"], "account_email": account.get("Email"),
            "role_arn": "" if account["Id"] == caller_account else f"arn:{partition}:iam::{account['Id']}:role/{role_name}", "aws_profile": "",
        }
    for number, entry in enumerate(static, 1):
        account_id = str(entry.get("id", "")).strip()
        if not re.fullmatch(r"\d{12}", account_id):
            raise ValueError(f"accounts[{number}]: id must be 12 digits, got {entry.get('id')!r}")
        unknown = set(entry) - {"id", "name", "email", "role_arn", "profile"}
        if unknown:
            raise ValueError(f"accounts[{number}] ({account_id}): unknown keys {sorted(unknown)}")
        if entry.get("role_arn") and entry.get("profile"):
            raise ValueError(f"accounts[{number}] ({account_id}): give role_arn or profile, not both")
        hosts[account_id] = {
            "account_id": account_id, "account_name": entry.get("name") or account_id, "account_email": entry.get("email"),
            "role_arn": entry.get("role_arn") or "", "aws_profile": entry.get("profile") or "",
        }
    return list(hosts.values())


def host_accounts(hosts: List[Dict]) -> List[Dict]:
    """The ``accounts`` of ``iam_mfa_org_facts`` from host records of ``account_hosts`` (an inventory's hostvars)."""
    accounts = []
    for host in hosts:
        entry = {"id": host.get("account_id"), "name": host.get("account_name"),
                 "role_arn": host.get("role_arn"), "profile": host.get("aws_profile")}
        accounts.append({key: value for key, value in entry.items() if value})
    return accounts


def organization_answer(results: List[Dict], read: Optional[str] = None) -> Optional[str]:
    """Whether the Organization manages its members' root credentials centrally (``enabled`` or ``disabled``): ``read``
    (iam:ListOrganizationsFeatures with the run's credentials), else the one answer the accounts that could read it gave
    (the management account, a delegated administrator); None when it is not known, or the accounts disagree."""
    if read in ("enabled", "disabled"):
        return read
    answers = {((r.get("facts") or {}).get("root") or {}).get("credentials_management") for r in results} & {"enabled", "disabled"}
    return answers.pop() if len(answers) == 1 else None


def with_organization_answer(root: Optional[Dict], answer: Optional[str]) -> Optional[Dict]:
    """A member's root facts with the Organization's answer where the member could not read it (members are refused
    iam:ListOrganizationsFeatures), and its findings as that answer makes them."""
    if not root or not answer or root.get("credentials_management") != "unknown" or root.get("organization_member") is False:
        return root
    root = dict(root, credentials_management=answer)
    root["reasons"] = root_reasons(root_record_of(root))
    return root


def _seconds(value) -> Optional[float]:
    """An account's seconds, from the module (a number) or from a host of the org_report playbook (its text, on older
    ansible-core)."""
    try:
        return None if value in (None, "") else round(float(value), 3)
    except (TypeError, ValueError):
        return None


def aggregate(results: List[Dict], generated_at: str, credentials_management: Optional[str] = None) -> Dict:
    """One set of facts for many accounts.

    ``results``: per account ``account_id``, ``account_name`` and either ``facts`` (its ``iam_mfa``) or ``error``; and,
    when known, ``api_calls`` (the requests sent for it, else its facts' ``api_calls``) and ``seconds``.
    The result has the shape of one account's facts (so every report format renders it), plus ``accounts``
    (a row per account: status ``ok`` or ``failed``, its summary or error, its requests and seconds) and an account on every user.
    Each member's ``credentials_management`` is the Organization's (``organization_answer``, given ``credentials_management``
    as read with the run's credentials).
    """
    accounts, users, warnings, sources, roots = [], [], [], set(), []
    first = None
    answer = organization_answer(results, credentials_management)
    for result in sorted(results, key=lambda r: (str(r.get("account_name") or ""), str(r.get("account_id") or ""))):
        facts = result.get("facts")
        if facts and "users" in facts and facts.get("root"):
            facts = dict(facts, root=with_organization_answer(facts["root"], answer))
        calls = result.get("api_calls")
        row = {"account_id": result.get("account_id"), "account_name": result.get("account_name") or result.get("account_id"),
               "api_calls": (facts or {}).get("api_calls") if calls is None else calls, "seconds": _seconds(result.get("seconds"))}
        if not facts or "users" not in facts:
            accounts.append(dict(row, status="failed", error=result.get("error") or "no facts were gathered", summary=None, root=None))
            continue
        first = first or facts
        row["account_id"] = row["account_id"] or facts.get("account_id")
        accounts.append(dict(row, status="ok", error=None, summary=facts["summary"], root=facts.get("root"), partition=facts.get("partition")))
        users.extend(dict(user, account_id=row["account_id"], account_name=row["account_name"]) for user in facts["users"])
        warnings.extend(f"{row['account_name']}: {w}" for w in facts.get("warnings", []))
        sources.add(facts.get("source"))
        roots.append(facts.get("root") or {})
    failed = [a for a in accounts if a["status"] == "failed"]
    warnings.extend(f"{a['account_name']}: not reported ({a['error']})" for a in failed)
    return {
        "account_id": f"{len(accounts)} accounts" + (f", {len(failed)} failed" if failed else ""),
        "generated_at": generated_at,
        "source": "/".join(sorted(s for s in sources if s)) or "none",
        "report_generated_at": None,
        "report_age_seconds": None,
        "api_calls": sum(a["api_calls"] or 0 for a in accounts),
        "options": (first or {}).get("options", {}),
        "accounts": accounts,
        "users": users,
        "summary": summarize(users),
        "root": {"mfa_enabled": bool(roots) and all(r.get("mfa_enabled") for r in roots),
                 "access_keys_present": any(r.get("access_keys_present") for r in roots),
                 "reasons": [reason for reason in ROOT_REASONS if any(reason in (r.get("reasons") or ()) for r in roots)]},
        "warnings": warnings,
    }


def _key(user: Dict) -> tuple:
    return (user.get("account_id") or "", user["username"])


def trends(facts: Dict, previous: Optional[Dict]) -> Optional[Dict]:
    """The seed's trends against a previous report: newly non-compliant users, fixed ones, compliance change."""
    if not previous or "users" not in previous or "summary" not in previous:
        return None
    # Users are matched by account id (names of accounts may change) and named as every list names them (prod/alice).
    before_users = {_key(u): u for u in previous["users"]}
    now_users = {_key(u): u for u in facts["users"]}
    before = {k: u["status"] for k, u in before_users.items()}
    now = {k: u["status"] for k, u in now_users.items()}
    newly = sorted(user_label(now_users[k]) for k, s in now.items() if s == "non-compliant" and before.get(k) != "non-compliant")
    fixed = sorted(user_label(now_users.get(k) or before_users[k]) for k, s in before.items()
                   if s == "non-compliant" and now.get(k, "compliant") != "non-compliant")
    old_pct, new_pct = previous["summary"].get("compliance_pct"), facts["summary"].get("compliance_pct")
    return {
        "previous_generated_at": previous.get("generated_at"),
        "newly_non_compliant": newly,
        "fixed": fixed,
        "compliance_pct_before": old_pct,
        "compliance_pct_now": new_pct,
        "compliance_change": round(new_pct - old_pct, 1) if old_pct is not None and new_pct is not None else None,
    }
