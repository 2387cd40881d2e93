# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Many accounts from one process: an Organization's accounts, and each account's facts gathered in a bounded thread pool.

Each account is reached through its role (sts:AssumeRole with the run's credentials), its profile, or the run's
credentials, and read by the same ``gather`` and ``build_facts`` as ``iam_mfa_facts``. One account's failure is its
result (``error``), never the others'. Each account counts its own requests, on clients of its own.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional, Tuple

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule and AWSInventoryBase report a missing botocore

from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter, RETRY, Sessions, fast_timestamps
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, error_text
from ansible_collections.awssec.mfa.plugins.module_utils.facts import build_facts, check_facts_params
from ansible_collections.awssec.mfa.plugins.module_utils.gather import gather
from ansible_collections.awssec.mfa.plugins.module_utils.org import account_hosts, aggregate
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import bounded_map, check_concurrency
from ansible_collections.awssec.mfa.plugins.module_utils.records import isoformat, partition_of
from ansible_collections.awssec.mfa.plugins.module_utils.root import credentials_management

ROLE_SESSION_NAME = "awssec-mfa-org-report"
ROLE_SECONDS = 900  # the shortest session AssumeRole grants; an account's report takes seconds


@RETRY
def _list_accounts(client) -> List[Dict]:
    return client.get_paginator("list_accounts").paginate().build_full_result()["Accounts"]


def read_organization(organizations, sts) -> Tuple[List[Dict], str, str, str]:
    """The Organization's accounts, its management account's ID, its partition and the caller's account.

    ``organizations`` and ``sts`` are retrying clients (``aws_retry=True``) with the run's credentials.
    """
    organization = organizations.describe_organization(aws_retry=True)["Organization"]
    accounts = _list_accounts(organizations)
    caller = sts.get_caller_identity(aws_retry=True)["Account"]
    return accounts, organization["MasterAccountId"], partition_of(organization["Arn"]), caller


class Connector(Sessions):
    """The run's clients for each account (clients.Sessions), and the roles assumed in the accounts.

    ``connection`` is amazon.aws's ``get_aws_connection_info(module)``: ``(region, endpoint_url, boto params)``, with the
    module's region, endpoint, profile, keys, TLS and botocore settings. Making a client costs about 10 ms of CPU: roles
    are assumed with one STS client per thread, not per account.
    """

    def __init__(self, connection: Tuple[Optional[str], Optional[str], Dict]) -> None:
        region, endpoint_url, params = connection
        super().__init__(endpoint_url, region=region, profile=params.get("profile_name"), config=params.get("aws_config"), verify=params.get("verify"),
                         keys={k: params.get(k) for k in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")})
        self._thread = threading.local()  # this thread's STS client for sts:AssumeRole, and the account it counts for

    def assume(self, role_arn: str, counter: CallCounter) -> Tuple[Dict, Dict]:
        """The keys of ``role_arn`` (sts:AssumeRole with the run's credentials) and who they act as (``Account`` and
        ``Arn``, as sts:GetCallerIdentity would answer with them); its requests counted by ``counter``."""
        thread = self._thread
        if not hasattr(thread, "sts"):
            sts = self.client("sts")  # retrying, as every client of Sessions.client
            sts.meta.events.register("before-send", lambda **kwargs: thread.counter.add())  # runs in the sending thread
            thread.sts = sts
        thread.counter = counter
        try:
            answer = thread.sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME, DurationSeconds=ROLE_SECONDS,
                                            aws_retry=True)
        except (BotoCoreError, ClientError) as e:
            raise AWSError(message=f"Failed to assume {role_arn} (sts:AssumeRole)", exception=e) from e
        credentials, arn = answer["Credentials"], answer["AssumedRoleUser"]["Arn"]
        keys = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"]}
        return keys, {"Account": arn.split(":")[4], "Arn": arn}


def report_account(account: Dict, connector: Connector, source: str, options: ClassifyOptions, clock: Callable = time.monotonic) -> Dict:
    """One account's result for ``org.aggregate``: its facts or its error, with the requests sent and the seconds taken.

    ``account`` is a host record of ``org.account_hosts`` (``account_id``, ``account_name``, ``role_arn``, ``aws_profile``).
    """
    counter, started = CallCounter(), clock()  # thread-safe, and this account's only
    result = {"account_id": account["account_id"], "account_name": account["account_name"]}
    try:
        keys = identity = None
        if account.get("role_arn"):
            keys, identity = connector.assume(account["role_arn"], counter)
        profile = account.get("aws_profile") or None

        def client(service):
            return counter.watch(connector.client(service, profile=profile, keys=keys))
        # As iam_mfa_facts makes them; its users one by one (the accounts are read side by side). Who a role acts as is
        # known from sts:AssumeRole: only a profile or the run's credentials need sts:GetCallerIdentity.
        cloudtrail = fast_timestamps(client("cloudtrail")) if options.evidence_days else None
        gathered = gather(fast_timestamps(client("iam")), None if identity else client("sts"), source, options, cloudtrail=cloudtrail,
                          identity=identity)
        result["facts"] = build_facts(gathered, options, datetime.now(timezone.utc), counter.count)
    except (AWSError, BotoCoreError, ClientError) as e:
        result["error"] = error_text(e)
    result.update(api_calls=counter.count, seconds=round(clock() - started, 3))
    return result


def report_accounts(accounts: List[Dict], report_one: Callable[[Dict], Dict], concurrency: int) -> List[Dict]:
    """``report_one(account)`` for every account, at most ``concurrency`` at a time; the results in the accounts' order."""
    problems = check_concurrency(concurrency)
    if problems:
        raise ValueError(problems[0])
    return list(bounded_map(report_one, accounts, min(concurrency, len(accounts) or 1)))


def check_org_params(params: Dict, region: Optional[str]) -> List[str]:
    """What is wrong with iam_mfa_org_facts' parameters (nothing: an empty list), found before any call: those it shares
    with iam_mfa_facts checked as iam_mfa_facts checks them, then its own."""
    problems = check_facts_params(params, region)
    if not params["accounts"] and not params["organization"]:
        problems.append("give accounts, or organization: true, or both")
    return problems


def org_facts(params: Dict, client: Callable[[str], object], connector: Callable[[], Connector]) -> Dict:
    """iam_mfa_org_facts' facts: the accounts it names and, with ``organization``, the Organization's (listed with
    ``client(name)``), each reported through ``connector()``, at most ``concurrency`` at once. Before any account is read:
    AWSError when the Organization cannot be listed (with AWS's error, its code and request id), ValueError when an account
    is given wrong."""
    listed, management_id, partition, caller = [], None, "aws", None
    central, warnings = None, []
    if params["organization"]:
        try:
            listed, management_id, partition, caller = read_organization(client("organizations"), client("sts"))
        except (BotoCoreError, ClientError) as e:
            raise AWSError(message="Could not list the Organization's accounts", exception=e) from e
        # Whether root credentials are managed centrally: only the management account (or a delegated administrator),
        # whose credentials listed the Organization, can tell; every member's root facts take its answer.
        central = credentials_management(client("iam"), warnings)[0]
    accounts = account_hosts(params["accounts"], listed, management_id, params["role_name"], params["include_management_account"], partition,
                             caller)
    reporter = connector()
    options = ClassifyOptions.from_params(params)
    results = report_accounts(accounts, lambda account: report_account(account, reporter, params["source"], options), params["concurrency"])
    facts = aggregate(results, isoformat(datetime.now(timezone.utc)), central)
    facts["warnings"].extend(warnings)
    return facts
