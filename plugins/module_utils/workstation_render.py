# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the workstation tools print: the seed's per-profile lines of a login, and the ``--list`` entries."""

from __future__ import annotations

from datetime import datetime
from typing import Dict, List

from ansible_collections.awssec.mfa.plugins.module_utils.records import plural
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import (
    DEFAULT_DURATION, DEFAULT_KEY_EXPIRATION_DAYS, Profile, remaining_seconds)


def format_remaining(seconds: int) -> str:
    """``8h 42m`` (``0m`` for less than a minute)."""
    seconds = max(0, int(seconds))
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def format_duration(seconds: int) -> str:
    """``12 hours, 0 minutes``, as the seed announces a request."""
    return f"{plural(seconds // 3600, 'hour')}, {plural(seconds % 3600 // 60, 'minute')}"


def status_label(profile: Profile, now: datetime) -> str:
    """The seed's ``--list`` label."""
    if profile.session == "never":
        return "Never logged in"
    if profile.session == "valid":
        return f"MFA Valid: {format_remaining(remaining_seconds(profile, now))} remaining"
    if profile.session == "unknown":
        return "Session without expiration"
    if profile.session == "other":
        return "Session of another role" if profile.role else "Session of a role, not the user's"
    return "MFA session expired"


def render_login(result: dict, quiet: bool = False) -> List[str]:
    """The seed's per-profile lines for a login result (also for check mode: who would be asked for a code)."""
    lines = []
    for p in result.get("profiles", []):
        if not quiet:
            lines += ["=" * 60, f"Profile: {p['name']}", "=" * 60]
        if p["status"] == "valid":
            lines.append(f"✓ Session still valid for {p['remaining']}")
        elif p["status"] == "pending":
            lines.append("→ Would request a new session (needs an MFA code)")
        elif p["status"] == "failed":
            lines.append(f"✗ {p['error']}")
        else:
            if p.get("role_arn"):
                lines.append(f"ℹ Assuming role {p['role_arn']}" + (" with the MFA session" if p.get("role_chained") else "") + "...")
            else:
                lines.append(f"ℹ Requesting session token for {format_duration(result.get('duration_seconds', DEFAULT_DURATION))}...")
            lines.append(f"✓ Authentication successful! (use profile: {p['name']})")
            if p.get("assumed_role_arn"):
                lines.append(f"ℹ Role session: {p['assumed_role_arn']} | Account: {p.get('account')}")
            elif p.get("user") or p.get("account"):
                lines.append(f"ℹ User: {p.get('user')} | Account: {p.get('account')}")
            lines.extend(_key_line(p, result.get("key_expiration_days", DEFAULT_KEY_EXPIRATION_DAYS)))
        lines.extend(f"⚠ {w}" for w in p.get("warnings", []))
    return lines


def _key_line(p: dict, expiration_days: int) -> List[str]:
    age = p.get("key_age_days")
    if age is None:
        return []
    if p.get("key_rotation") == "required":
        return [f"⚠ Access key age: {plural(age, 'day')} - KEY ROTATION REQUIRED (exceeded {plural(expiration_days, 'day')})"]
    if p.get("key_rotation") == "recommended":
        return [f"⚠ Access key age: {plural(age, 'day')} - KEY ROTATION RECOMMENDED (expires in {plural(p['key_expires_in_days'], 'day')})"]
    return [f"ℹ Access key age: {plural(age, 'day')}"]


def profile_listing(profiles: Dict[str, Profile], now: datetime) -> List[dict]:
    """The seed's ``--list``: one entry per long-term profile with its session state."""
    return [{
        "name": p.name,
        "long_term_profile": p.long_term,
        "session": p.session,
        "expires_at": p.expires_at.isoformat() if p.expires_at else None,
        "remaining_seconds": remaining_seconds(p, now),
        "remaining": format_remaining(remaining_seconds(p, now)) if p.session == "valid" else None,
        "mfa_serial": p.mfa_serial,
        "label": f"{p.name} [{status_label(p, now)}]",
    } for p in profiles.values()]
