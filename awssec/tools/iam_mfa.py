# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The seed's Python API: ``generate_mfa_report`` and ``enforce_mfa_compliance``, over the collection's module_utils.

Gathering, classification, planning and rendering are the same code that ``iam_mfa_facts`` and
``iam_mfa_enforce`` run; these functions only build clients from the usual AWS configuration.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Dict, Iterable, Optional, Sequence, Union

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# Importing the package makes the collection importable.
import awssec  # noqa: F401 pylint: disable=unused-import
from ansible_collections.awssec.mfa.plugins.module_utils.classify import Selection, check_options
from ansible_collections.awssec.mfa.plugins.module_utils.enforce import EnforceOptions, check_targets, enforce_users, too_many_message
from ansible_collections.awssec.mfa.plugins.module_utils.facts import build_facts
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter
from ansible_collections.awssec.mfa.plugins.module_utils.gather import IAMError, error_text, gather
from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy
from ansible_collections.awssec.mfa.plugins.module_utils.report_doc import render


class TooManyUsers(RuntimeError):
    """Enforcement would act on more users than ``max_affected``; nothing was changed."""


class AWSFailure(RuntimeError):
    """An AWS call failed (or AWS could not be reached): the message says which call, and why."""


def _aws(function, *args, **kwargs):
    """Run a gathering or enforcement step; SDK and IAM errors become AWSFailure with their cause."""
    try:
        return function(*args, **kwargs)
    except (IAMError, BotoCoreError, ClientError) as e:
        raise AWSFailure(error_text(e)) from e


def _users(value: Union[None, str, Iterable[str]]) -> tuple:
    if not value:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v.strip() for v in value if v.strip())


def selection(exclude_users=None, include_users=None, grace_period_days: int = 7) -> Selection:
    options = Selection(grace_period_days=grace_period_days, exclude_users=_users(exclude_users), include_users=_users(include_users))
    problems = check_options(options)
    if problems:
        raise ValueError("; ".join(problems))
    return options


def clients(profile: Optional[str] = None, region: Optional[str] = None, endpoint_url: Optional[str] = None):
    """IAM and STS clients from the usual AWS configuration, counting their requests."""
    session = boto3.session.Session(profile_name=profile)
    counter = CallCounter()
    region = region or session.region_name
    iam = counter.watch(session.client("iam", region_name=region, endpoint_url=endpoint_url))
    sts = counter.watch(session.client("sts", region_name=region, endpoint_url=endpoint_url))
    return iam, sts, counter


def mfa_facts(exclude_users=None, include_users=None, grace_period_days: int = 7, source: str = "credential_report",
              profile: Optional[str] = None, region: Optional[str] = None, endpoint_url: Optional[str] = None) -> Dict:
    """The ``iam_mfa`` facts of the account, as the ``iam_mfa_facts`` module returns them."""
    options = selection(exclude_users, include_users, grace_period_days)
    iam, sts, counter = _aws(clients, profile, region, endpoint_url)
    gathered = _aws(gather, iam, sts, source, options)
    return build_facts(gathered, options, datetime.now(timezone.utc), counter.count)


def generate_mfa_report(output_format: str = "table", exclude_users=None, include_users=None, grace_period_days: int = 7,
                        save_report: Optional[str] = None, **connection) -> Union[Dict, str]:
    """The compliance report: a dict for ``json`` (the report's fields: users[].username, users[].status...),
    else the text in ``output_format`` (table, csv, markdown, html). ``save_report`` also writes the text to a file.
    Raises AWSFailure when AWS cannot be reached or refuses (the message names the call and the cause)."""
    facts = mfa_facts(exclude_users, include_users, grace_period_days, **connection)
    text = render(facts, output_format)
    if save_report:
        with open(save_report, "w", encoding="utf-8") as f:
            f.write(text)
    return facts if output_format == "json" else text


def enforce_mfa_compliance(dry_run: bool = True, grace_period_days: int = 7, exclude_users=None, include_users=None,
                           disable_console_access: bool = False, max_affected: int = EnforceOptions.max_affected, source: str = "credential_report",
                           targets: Sequence[str] = EnforceOptions.targets, **connection) -> Dict:
    """Enforce MFA on the non-compliant users (dry_run: plan only, change nothing); returns what iam_mfa_enforce returns.
    ``targets`` as the module's (add ``keys_not_mfa_protected`` to make the keys of users with MFA need MFA too).

    Raises TooManyUsers, before any change, when more than ``max_affected`` users would be acted on, and
    AWSFailure when AWS cannot be reached or refuses (the message names the call and the cause).
    """
    problems = check_targets(targets, attach_policy=True)
    if problems:
        raise ValueError("; ".join(problems))
    options = selection(exclude_users, include_users, grace_period_days)
    iam, sts, counter = _aws(clients, **connection)
    gathered = _aws(gather, iam, sts, source, options)
    enforce = EnforceOptions(disable_console_access=disable_console_access, max_affected=max_affected, targets=tuple(targets))
    result = _aws(enforce_users, iam, gathered, options, enforce, mfa_policy(), dry_run, datetime.now(timezone.utc))
    result["warnings"] = gathered.warnings + result["warnings"]
    result["api_calls"] = counter.count
    if result.get("too_many") is not None:
        raise TooManyUsers(too_many_message(result["too_many"], max_affected, result.get("too_many_read_live", False)))
    return result
