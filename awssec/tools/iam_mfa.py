# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The seed's Python API: ``generate_mfa_report`` and ``enforce_mfa_compliance``, over the collection's module_utils.

Gathering, classification, planning and rendering are the same code that ``iam_mfa_facts`` and
``iam_mfa_enforce`` run; these functions only build clients from the usual AWS configuration.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from typing import Dict, Iterable, Optional, Sequence, Union

from botocore.exceptions import BotoCoreError, ClientError

# Importing the package makes the collection importable.
import awssec  # noqa: F401 pylint: disable=unused-import
from ansible_collections.awssec.mfa.plugins.module_utils.enforce import ENFORCE_ARGSPEC, check_params, enforce_account, spec_defaults
from ansible_collections.awssec.mfa.plugins.module_utils.facts import FACTS_ARGSPEC, account_facts, check_facts_params
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter, Sessions, fast_timestamps
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, error_text
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import render


# The mode of a saved report, as role mfa_report saves it (roles/mfa_report/tasks/report.yml): user and group.
REPORT_MODE = 0o640


def save_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` (relative to the current folder), mode REPORT_MODE.

    A new file is created with that mode (never wider, whatever the umask); an existing regular file is set
    to it before anything is written (as the role's copy does), so the report is never readable wider.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), REPORT_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, REPORT_MODE)
        f.write(text)


class TooManyUsers(RuntimeError):
    """Enforcement would act on more users than ``max_affected``; nothing was changed."""


class AWSFailure(RuntimeError):
    """An AWS call failed (or AWS could not be reached): the message says which call, and why."""


def _aws(function, *args, **kwargs):
    """Run a gathering or enforcement step; SDK and AWS errors become AWSFailure with their cause."""
    try:
        return function(*args, **kwargs)
    except (AWSError, BotoCoreError, ClientError) as e:
        raise AWSFailure(error_text(e)) from e


def _users(value: Union[None, str, Iterable[str]]) -> list:
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v.strip()]


def _selection(exclude_users=None, include_users=None, grace_period_days: int = 7, source: str = "credential_report") -> Dict:
    return {"exclude_users": _users(exclude_users), "include_users": _users(include_users), "grace_period_days": grace_period_days,
            "source": source}


def _session(profile: Optional[str] = None, region: Optional[str] = None, endpoint_url: Optional[str] = None):
    """``client(service)`` from the usual AWS configuration, and its region (the partition follows the region, as for the modules)."""
    sessions = Sessions(endpoint_url, region=region, profile=profile)
    return sessions.client, sessions.region_name()


def mfa_facts(exclude_users=None, include_users=None, grace_period_days: int = 7, source: str = "credential_report",
              profile: Optional[str] = None, region: Optional[str] = None, endpoint_url: Optional[str] = None) -> Dict:
    """The ``iam_mfa`` facts of the account, as the ``iam_mfa_facts`` module returns them (the same code)."""
    params = spec_defaults(FACTS_ARGSPEC, **_selection(exclude_users, include_users, grace_period_days, source))
    client, region = _aws(_session, profile, region, endpoint_url)
    problems = check_facts_params(params, region)
    if problems:
        raise ValueError("; ".join(problems))
    return _aws(account_facts, client, params)


def generate_mfa_report(output_format: str = "table", exclude_users=None, include_users=None, grace_period_days: int = 7,
                        save_report: Optional[str] = None, **connection) -> Union[Dict, str]:
    """The compliance report: a dict for ``json`` (the report's fields: users[].username, users[].status...),
    else the text in ``output_format`` (table, csv, markdown, html, ocsf). ``save_report`` also writes the text to a file (mode 0640).
    Raises AWSFailure when AWS cannot be reached or refuses (the message names the call and the cause)."""
    facts = mfa_facts(exclude_users, include_users, grace_period_days, **connection)
    text = render(facts, output_format)
    if save_report:
        save_text(save_report, text)
    return facts if output_format == "json" else text


def enforce_mfa_compliance(dry_run: bool = True, grace_period_days: int = 7, exclude_users=None, include_users=None,
                           disable_console_access: bool = False, max_affected: int = ENFORCE_ARGSPEC["max_affected"]["default"],
                           source: str = "credential_report", targets: Sequence[str] = tuple(ENFORCE_ARGSPEC["targets"]["default"]),
                           profile: Optional[str] = None, region: Optional[str] = None, endpoint_url: Optional[str] = None) -> Dict:
    """Enforce MFA on the non-compliant users (dry_run: plan only, change nothing); returns what iam_mfa_enforce returns,
    from the same code (enforce.enforce_account: the policy in the caller's partition, the live re-read, the records).
    ``targets`` as the module's (add ``keys_not_mfa_protected`` to make the keys of users with MFA need MFA too).

    Raises TooManyUsers, before any change, when more than ``max_affected`` users would be acted on, and
    AWSFailure when AWS cannot be reached or refuses (the message names the call and the cause).
    """
    params = spec_defaults(ENFORCE_ARGSPEC, disable_console_access=disable_console_access, max_affected=max_affected, targets=list(targets),
                           **_selection(exclude_users, include_users, grace_period_days, source))
    problems = check_params(params)
    if problems:
        raise ValueError("; ".join(problems))
    client, dummy = _aws(_session, profile, region, endpoint_url)
    counter = CallCounter()
    iam, sts = counter.watch(fast_timestamps(client("iam"))), counter.watch(client("sts"))
    result, failure, warnings = _aws(enforce_account, iam, sts, params, dry_run, False, datetime.now(timezone.utc))
    result["warnings"] = warnings
    result["api_calls"] = counter.count
    if "users" in result and failure:  # stopped before acting
        raise TooManyUsers(failure)
    return result
