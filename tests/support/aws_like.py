# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""WSGI middleware that makes the moto server behave like AWS where moto is kinder.

Each behaviour is a setting, off by default (then requests pass through untouched):

- ``paging``: IAM lists come in pages as AWS serves them (``MaxItems`` honoured, 100 by default, at most
  1,000, ``IsTruncated``/``Marker``), the next pages cut from the answer the first was cut from until something
  changes; Organizations ListAccounts 20 a page with ``NextToken``. AWS may serve
  fewer items than asked for while there are more: ``page_cap`` serves at most that many a page.
- ``report``: GenerateCredentialReport answers STARTED, then INPROGRESS ``report_polls`` times, then
  COMPLETE. The report is made then, with the ``<root_account>`` row, and dated by this server's
  clock; for 4 hours it is served as it was, whatever changed since (AWS's documented behaviour).
- ``throttle``: (rate per second, burst) of a token bucket per action; past it, ``Throttling``
  (``TooManyRequestsException`` for Organizations). ``throttle_actions`` limits it to those actions; a
  burst of 0 throttles each action's first request.
  ``report_limit``: the same for GenerateCredentialReport alone, answered with ``LimitExceeded``.
- ``new_key_delay``: seconds during which IAM and STS refuse a new access key (``InvalidClientTokenId``).
- ``latency``: seconds every answer waits before it is sent, as AWS's answers wait on the network and the service
  (IAM's global endpoint is in us-east-1: tens of milliseconds from nearby, about 100 from another continent). moto
  answers at once, so without it nothing that overlaps requests (a thread pool) can show what it buys on AWS.
- ``root``: the root user, as GetAccountSummary, ListVirtualMFADevices and the report's ``<root_account>`` row show it:
  ``{"mfa": "virtual" | "hardware" | "none", "access_keys": bool, "password_last_used": ISO time}``.

- ``stock``: none of this, not even the calls below: every request goes to moto as a stock moto server gets it (what
  most users test with; it answers iam:ListOrganizationsFeatures with an HTML page and status 500).

Always (but with ``stock``), as AWS does and moto does not:

- iam:CreatePolicy of a name a customer managed policy of the account has, at any path: ``EntityAlreadyExists``
  (moto accepts the name again at another path).

Always answered here (but with ``stock``), since moto lacks them:

- iam:ListOrganizationsFeatures: ``organizations_features`` (the enabled features), or, when None, the error of an
  account outside any Organization; ``organizations_features_error`` answers that error code instead.
- cloudtrail:LookupEvents of ``ConsoleLogin``: from ``console_logins``, each ``{"user": name (None: the root user),
  "mfa": bool, "time": ISO time, "success": bool (default true)}``; newest first, 50 a page at most, with
  ``NextToken``; at most 2 requests a second (AWS's limit; then ``ThrottlingException``).

Security Hub, which moto serves more kindly than AWS (always, but with ``stock``):

- BatchImportFindings and GetFindings in an account and Region where Security Hub is not enabled:
  ``InvalidAccessException`` (moto imports and lists findings anyway).
- securityhub:BatchImportFindings: more than 100 findings, ``InvalidInputException`` for the request; a finding without
  one of ASFF's required fields, or whose ``AwsAccountId`` or ``ProductArn`` is not the caller's own default product in
  the request's partition and Region, is refused in ``FailedFindings`` (moto takes any).
- securityhub:GetFindings: the ``Filters`` on ``Id``, ``ProductArn``, ``AwsAccountId``, ``GeneratorId`` and
  ``RecordState`` (``EQUALS``, ``NOT_EQUALS``, ``PREFIX``) applied, at most 100 a page with ``NextToken`` (moto ignores
  the filters).
- ``throttle`` and ``throttle_actions`` apply to both (as ``BatchImportFindings`` and ``GetFindings``), answered with
  ``TooManyRequestsException``.

STS, which moto serves more kindly than AWS (always, but with ``stock``):

- sts:GetSessionToken answers a session key of its own each time (moto's is always the same), and this server remembers
  whether the session was got with an MFA code.
- sts:AssumeRole of a role that exists: ``DurationSeconds`` over the role's MaxSessionDuration, or over an hour when
  the caller's credentials are temporary (role chaining), is a ``ValidationError``; the role's trust policy is
  evaluated (its Allow statements for sts:AssumeRole and their conditions on ``aws:MultiFactorAuthPresent``, present
  when the request carries SerialNumber and TokenCode or the caller's session was got with them, absent for a
  long-term key without them, and on ``sts:ExternalId``), and a request none of them allows is ``AccessDenied``. (A
  role that does not exist is left to moto, which assumes it anyway.)
- ``one_time_codes``: a TokenCode of an MFA device is accepted once, as AWS accepts a TOTP code (then ``AccessDenied``).

Partitions come from moto: the account is in aws-us-gov or aws-cn when requests are signed for
us-gov-west-1 or cn-north-1; the root row's ARN follows the signing region.
"""

from __future__ import annotations

import base64
import collections
import csv
import io
import json
import random
import re
import string
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Callable, Dict, Optional, Tuple
from urllib.parse import parse_qsl, unquote, urlencode

ACCOUNT_ID = "123456789012"


def account_of(key_id: str) -> str:
    """The account an access key belongs to, as moto tells it (an assumed role's key: the role's account)."""
    from moto.iam.models import get_account_id_from  # pylint: disable=import-outside-toplevel

    return get_account_id_from(key_id) if key_id else ACCOUNT_ID


REPORT_LIFETIME = 4 * 3600  # seconds AWS serves a credential report without making a new one
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
# The lists each paged IAM action returns (GetAccountAuthorizationDetails pages over all of them, in order).
PAGED = {
    "ListUsers": ("Users",),
    "GetAccountAuthorizationDetails": ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"),
    "ListVirtualMFADevices": ("VirtualMFADevices",),
    "ListMFADevices": ("MFADevices",),
    "ListAccessKeys": ("AccessKeyMetadata",),
    "ListPolicies": ("Policies",),
    "ListAttachedUserPolicies": ("AttachedPolicies",),
    "ListUserTags": ("Tags",),
}
IAM_PAGE, IAM_MAX_PAGE, ORG_PAGE, EVENTS_PAGE = 100, 1000, 20, 50
LOOKUP_EVENTS_RATE = 2.0  # requests a second, per account and Region
CREDENTIAL = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/")


@dataclass
class Settings:
    paging: bool = False
    page_cap: Optional[int] = None
    report: bool = False
    report_polls: int = 1
    throttle: Optional[Tuple[float, float]] = None
    throttle_actions: Optional[Tuple[str, ...]] = None
    report_limit: Optional[Tuple[float, float]] = None
    new_key_delay: float = 0.0
    latency: float = 0.0
    # The root user, as AWS would describe it: mfa (none, virtual, hardware, security_key), access_keys, password (default
    # True), certificates (default False), password_last_used. ``root`` for every account, ``roots`` per account ID.
    root: Optional[Dict] = None
    roots: Optional[Dict[str, Dict]] = None
    organizations_features: Optional[Tuple[str, ...]] = None
    organizations_features_error: Optional[str] = None
    # The Organization's management account: only it answers ListOrganizationsFeatures; members are refused, as on AWS.
    organizations_management: Optional[str] = None
    console_logins: Tuple[Dict, ...] = ()
    one_time_codes: bool = False
    stock: bool = False  # every request straight to moto, as a stock moto server answers it (no other setting applies)


def partition_of_region(region: str) -> str:
    return "aws-us-gov" if region.startswith("us-gov-") else "aws-cn" if region.startswith("cn-") else "aws"


class AwsLike:
    """The middleware; ``app`` is moto's WSGI application."""

    def __init__(self, app=None):
        self.app = app
        self.lock = threading.RLock()
        self.reset()

    # --- what tests use -------------------------------------------------------------------------

    def configure(self, **settings) -> None:
        for name, value in settings.items():
            if name not in {f.name for f in fields(Settings)}:
                raise TypeError(f"unknown setting {name!r}")
            setattr(self.settings, name, value)

    def reset(self, **settings) -> None:
        """Forget the report, buckets, new keys and clock; back to the given settings (all others off)."""
        with self.lock:
            self.settings = Settings()
            self.configure(**settings)
            self.offset = 0.0
            # The clock of rates and delays (throttling, LookupEvents' 2 a second, a new key's refusal): tests may set one they move.
            self.clock: Callable[[], float] = time.monotonic
            self.reports: Dict[Tuple[str, str], Tuple[str, float]] = {}  # (partition, account) -> (CSV, generated at)
            self.generating: Dict[Tuple[str, str], int] = {}  # (partition, account) -> INPROGRESS answers left
            self.buckets: Dict[str, Tuple[float, float]] = {}
            self.new_keys: Dict[str, float] = {}
            self.lists: Dict[tuple, bytes] = {}  # (caller, action, parameters) -> moto's whole answer, while its pages are read
            self.answered = collections.Counter()  # errors and states this layer answered, e.g. Throttling
            self.throttled = collections.Counter()  # throttled requests by action
            self.sessions: Dict[str, bool] = {}  # GetSessionToken's session keys -> got with an MFA code
            self.codes_used: set = set()  # (MFA device, code), with one_time_codes

    def advance(self, seconds: float) -> None:
        """Move this server's clock (the one reports are dated and aged by)."""
        self.offset += seconds

    def now(self) -> float:
        return time.time() + self.offset

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        if self.settings.latency:
            time.sleep(self.settings.latency)  # each request in its own server thread: waits overlap, as on AWS
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if self.settings.stock:
            return self.app(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION") or "")
        key_id, region, service = match.groups() if match else ("", "us-east-1", "")
        if service == "securityhub":  # REST and JSON: the action is in the path
            target = SECURITYHUB_ACTIONS.get((environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")), "securityhub.Other")
        form = dict(parse_qsl(body.decode("utf-8", "replace"))) if body and not target else {}
        action = target.rpartition(".")[2] if target else form.get("Action") or ""
        with self.lock:
            error = self._refusal(action, key_id, service, bool(target))
        if error:
            return self._send(start_response, *error)
        if service == "sts" and action in ("GetSessionToken", "AssumeRole"):
            with self.lock:
                error = self._sts_refusal(action, form, key_id)
            if error:
                return self._send(start_response, *error)
            if action == "GetSessionToken":
                status, headers, answer = self._forward(environ, body)
                if status.startswith("200"):
                    answer = self._own_session_key(answer, bool(form.get("SerialNumber") and form.get("TokenCode")))
                start_response(status, headers)
                return [answer]
        if service == "securityhub":
            return self._send(start_response, *self._securityhub(environ, action, body, account_of(key_id), region))
        if action == "ListOrganizationsFeatures":
            return self._send(start_response, *self._organizations_features(partition_of_region(region), account_of(key_id)))
        if action == "LookupEvents":
            return self._send(start_response, *self._lookup_events(body, partition_of_region(region)))
        if self.settings.report and action in ("GenerateCredentialReport", "GetCredentialReport"):
            return self._send(start_response, *self._report(environ, action, partition_of_region(region), account_of(key_id)))
        if action == "CreatePolicy":
            taken = self._policy_name_taken(form.get("PolicyName", ""), account_of(key_id), partition_of_region(region))
            if taken:
                message = f"A policy called {form['PolicyName']} already exists. Duplicate names are not allowed."
                return self._send(start_response, *self._error(409, "EntityAlreadyExists", message))
        if not action.startswith(("Get", "List", "Generate", "Describe", "Lookup")):
            with self.lock:
                self.lists.clear()  # a change: lists are read afresh
        if self.settings.paging and action in PAGED:
            return self._send(start_response, *self._iam_page(environ, form, action, key_id))
        if self.settings.paging and target.endswith(".ListAccounts"):
            return self._send(start_response, *self._org_page(environ, body))
        status, headers, answer = self._forward(environ, body)
        if action == "CreateAccessKey" and status.startswith("200"):
            found = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", answer)
            if found:
                self.new_keys[found.group(1).decode()] = self.clock()
        start_response(status, headers)
        return [answer]

    def _refusal(self, action: str, key_id: str, service: str, json_protocol: bool):
        delay = self.settings.new_key_delay
        if delay and service in ("iam", "sts") and self.clock() - self.new_keys.get(key_id, -delay) < delay:
            return self._error(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        throttled = self.settings.throttle and (self.settings.throttle_actions is None or action in self.settings.throttle_actions)
        if throttled and not self._take(action, *self.settings.throttle):
            self.throttled[action] += 1
            if json_protocol:
                message = "Rate exceeded" if service == "securityhub" else "AWS Organizations can't complete your request."
                return self._error(429 if service == "securityhub" else 400, "TooManyRequestsException", message, json_protocol)
            return self._error(400, "Throttling", "Rate exceeded")
        if action == "LookupEvents" and not self._take("LookupEvents", LOOKUP_EVENTS_RATE, LOOKUP_EVENTS_RATE):
            self.throttled[action] += 1
            return self._error(400, "ThrottlingException", "Rate exceeded", json_protocol)
        if action == "GenerateCredentialReport" and self.settings.report_limit and not self._take("report", *self.settings.report_limit):
            return self._error(409, "LimitExceeded", "Credential report generation is limited; try again later.")
        return None

    def _own_session_key(self, answer: bytes, mfa: bool) -> bytes:
        """GetSessionToken's answer with a session key of its own (as long as moto's), remembered with whether MFA got it."""
        key = "ASIA" + "".join(random.choices(string.ascii_uppercase + string.digits, k=16))
        with self.lock:
            self.sessions[key] = mfa
        return re.sub(rb"<AccessKeyId>[^<]*</AccessKeyId>", f"<AccessKeyId>{key}</AccessKeyId>".encode(), answer, count=1)

    def _sts_refusal(self, action: str, form: Dict[str, str], key_id: str):
        """AWS's refusal of this GetSessionToken or AssumeRole that moto would answer, or None."""
        code = form.get("TokenCode")
        if code and self.settings.one_time_codes:
            if (form.get("SerialNumber"), code) in self.codes_used:
                return self._error(403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
            self.codes_used.add((form.get("SerialNumber"), code))
        if action != "AssumeRole":
            return None
        duration = int(form.get("DurationSeconds") or 3600)
        temporary = key_id in self.sessions or key_id.startswith("ASIA")
        if temporary and duration > 3600:
            return self._error(400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
        role = _role(form.get("RoleArn") or "")
        if role is None:
            return None
        if duration > int(role.max_session_duration or 3600):
            return self._error(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        with_code = bool(form.get("SerialNumber") and code)
        mfa = "true" if with_code or self.sessions.get(key_id) else ("false" if temporary else None)  # None: not in the request's context
        if not _trusts(role.assume_role_policy_document, mfa, form.get("ExternalId")):
            return self._error(403, "AccessDenied", f"User: {key_id} is not authorized to perform: sts:AssumeRole on resource: {role.arn}")
        return None

    @staticmethod
    def _policy_name_taken(name: str, account: str, partition: str) -> bool:
        """AWS refuses a second customer managed policy of one name, whatever its path; moto accepts it at another path."""
        from moto.iam.models import iam_backends  # pylint: disable=import-outside-toplevel

        backend = iam_backends[account][partition]
        return any(policy.name == name for policy in backend.managed_policies.values() if ":aws:policy/" not in policy.arn)

    def _take(self, bucket: str, rate: float, burst: float) -> bool:
        """A token bucket that starts with ``burst`` tokens and holds at least one."""
        now = self.clock()
        tokens, last = self.buckets.get(bucket, (burst, now))
        tokens = min(max(burst, 1), tokens + (now - last) * rate)
        allowed = tokens >= 1
        self.buckets[bucket] = (tokens - 1 if allowed else tokens, now)
        return allowed

    def _error(self, status: int, code: str, message: str, json_protocol: bool = False):
        self.answered[code] += 1
        if json_protocol:
            return status, "application/x-amz-json-1.1", json.dumps({"__type": code, "Message": message}).encode()
        body = (f'<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>'
                "</Error><RequestId>aws-like</RequestId></ErrorResponse>")
        return status, "text/xml", body.encode()

    @staticmethod
    def _send(start_response, status: int, content_type: str, body: bytes):
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def _forward(self, environ, body: bytes):
        """Moto's answer to this request with ``body``: (status line, headers, bytes)."""
        inner = dict(environ, CONTENT_LENGTH=str(len(body)))
        inner["wsgi.input"] = io.BytesIO(body)
        started = {}

        def keep(status, headers, exc_info=None):  # pylint: disable=unused-argument
            started.update(status=status, headers=[(k, v) for k, v in headers if k.lower() != "content-length"])

        answer = b"".join(self.app(inner, keep))
        match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION") or "")
        root = self._root_of(account_of(match.group(1) if match else ""))
        if root is not None and started["status"].startswith("200"):
            answer = self._with_root(dict(parse_qsl(body.decode("utf-8", "replace"))).get("Action"), answer, environ, root)
        return started["status"], started["headers"] + [("Content-Length", str(len(answer)))], answer

    # --- the root user, Organizations features and CloudTrail, which moto lacks ----------------------------------

    def _securityhub(self, environ, action: str, body: bytes, account: str, region: str):
        """Security Hub as AWS serves it (see the module's docstring)."""
        backend = _securityhub_backend(account, region)
        if action not in ("BatchImportFindings", "GetFindings"):
            status, headers, answer = self._forward(environ, body)
            return int(status.split()[0]), dict(headers).get("Content-Type", "application/json"), answer
        if not backend.enabled:
            return 401, "application/json", json.dumps({"__type": "InvalidAccessException", "Code": "InvalidAccessException",
                                                        "Message": f"Account {account} is not subscribed to AWS Security Hub"}).encode()
        request = json.loads(body or b"{}")
        if action == "GetFindings":
            return self._get_findings(backend, request)
        findings = request.get("Findings") or []
        if len(findings) > 100:
            return self._error(400, "InvalidInputException", "Findings: at most 100 findings a request", True)
        product = f"arn:{partition_of_region(region)}:securityhub:{region}:{account}:product/{account}/default"
        good, failed = [], []
        for finding in findings:
            missing = [name for name in ASFF_REQUIRED if not finding.get(name)]
            if missing:
                failed.append({"Id": finding.get("Id", ""), "ErrorCode": "InvalidInput", "ErrorMessage": f"Finding is missing {', '.join(missing)}"})
            elif finding["ProductArn"] != product or finding["AwsAccountId"] != account:
                failed.append({"Id": finding["Id"], "ErrorCode": "AccessDeniedException",
                               "ErrorMessage": f"The caller's account {account} cannot import findings of account {finding['AwsAccountId']} "
                                               f"into {finding['ProductArn']}"})
            else:
                good.append(finding)
        if good:
            backend.batch_import_findings(good)
        return 200, "application/json", json.dumps({"FailedCount": len(failed), "SuccessCount": len(good), "FailedFindings": failed}).encode()

    def _get_findings(self, backend, request: Dict):
        wanted = request.get("Filters") or {}
        found = [f.as_dict() for f in backend.findings
                 if all(_matches(str(f.data.get(name, "")), wanted[name]) for name in SECURITYHUB_FILTERED if name in wanted)]
        size = min(int(request.get("MaxResults") or SECURITYHUB_PAGE), SECURITYHUB_PAGE)
        start = int(request.get("NextToken") or 0)
        page = found[start:start + size]
        answer = {"Findings": page}
        if start + size < len(found):
            answer["NextToken"] = str(start + size)
        return 200, "application/json", json.dumps(answer).encode()

    def _root_of(self, account: str) -> Optional[Dict]:
        """How the root user of ``account`` is described (``roots``, else ``root``); None: as moto answers."""
        return (self.settings.roots or {}).get(account, self.settings.root)

    def _with_root(self, action: Optional[str], answer: bytes, environ, root: Dict) -> bytes:
        """Moto's answer, with the root user as ``root`` describes it (GetAccountSummary gains AccountPasswordPresent, which moto lacks)."""
        match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION") or "")
        if action == "GetAccountSummary":
            for name, value in (("AccountMFAEnabled", root.get("mfa", "none") != "none"), ("AccountAccessKeysPresent", root.get("access_keys")),
                                ("AccountSigningCertificatesPresent", root.get("certificates", False))):
                answer = re.sub(rb"(<key>%s</key>\s*<value>)\d+(</value>)" % name.encode(), rb"\g<1>%d\g<2>" % bool(value), answer)
            entry = b"<entry><key>AccountPasswordPresent</key><value>%d</value></entry>" % bool(root.get("password", True))
            answer = re.sub(rb"<SummaryMap>", b"<SummaryMap>" + entry, answer, count=1)
        elif action == "ListVirtualMFADevices" and root.get("mfa") == "virtual":
            account = account_of(match.group(1) if match else "")
            arn = f"arn:{partition_of_region(match.group(2) if match else 'us-east-1')}:iam::{account}"
            device = (f"<member><SerialNumber>{arn}:mfa/root-account-mfa-device</SerialNumber><User><Path>/</Path><UserName></UserName>"
                      f"<UserId>{account}</UserId><Arn>{arn}:root</Arn><CreateDate>2015-01-01T00:00:00Z</CreateDate></User>"
                      "<EnableDate>2015-01-01T00:00:00Z</EnableDate></member>")
            answer = re.sub(rb"<VirtualMFADevices\s*/>", b"<VirtualMFADevices></VirtualMFADevices>", answer)
            answer = answer.replace(b"<VirtualMFADevices>", b"<VirtualMFADevices>" + device.encode(), 1)
        return answer

    def _organizations_features(self, partition: str, account: str):
        code = self.settings.organizations_features_error
        if code is None and self.settings.organizations_features is None:
            code = "OrganizationNotFoundException"
        management = self.settings.organizations_management
        if code is None and management is not None and account != management:
            code = "AccountNotManagementOrDelegatedAdministratorException"
        if code is not None:
            return self._error(400, code, f"{code} (served by the AWS-like test server)")
        members = "".join(f"<member>{feature}</member>" for feature in self.settings.organizations_features)
        return self._result("ListOrganizationsFeatures", f"<OrganizationId>o-awslike{partition.replace('-', '')}</OrganizationId>"
                                                         f"<EnabledFeatures>{members}</EnabledFeatures>")

    def _lookup_events(self, body: bytes, partition: str):
        request = json.loads(body or b"{}")
        if request.get("LookupAttributes") != [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}]:
            return self._error(400, "InvalidLookupAttributesException", "this server looks up ConsoleLogin events only", True)
        size = int(request.get("MaxResults", EVENTS_PAGE))
        if not 1 <= size <= EVENTS_PAGE:
            return self._error(400, "InvalidMaxResultsException", f"MaxResults must be from 1 to {EVENTS_PAGE}", True)
        start, end = float(request.get("StartTime", 0)), float(request.get("EndTime", self.now()))
        events = sorted((console_login(login, partition) for login in self.settings.console_logins), key=lambda e: -e["EventTime"])
        events = [e for e in events if start <= e["EventTime"] <= end]
        first = int(request.get("NextToken", "0") or 0)
        page = {"Events": events[first:first + size]}
        if first + size < len(events):
            page["NextToken"] = str(first + size)
        return 200, "application/x-amz-json-1.1", json.dumps(page).encode()

    # --- the credential report --------------------------------------------------------------------

    def _report(self, environ, action: str, partition: str, account: str):
        scope = (partition, account)  # each account has its report, as in AWS
        with self.lock:
            stored = self.reports.get(scope)
            fresh = stored is not None and self.now() - stored[1] < REPORT_LIFETIME
            if action == "GetCredentialReport":
                if fresh:
                    content, generated = stored
                    when = datetime.fromtimestamp(generated, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                    encoded = base64.b64encode(content.encode()).decode()
                    return self._result("GetCredentialReport", f"<Content>{encoded}</Content><ReportFormat>text/csv</ReportFormat>"
                                                               f"<GeneratedTime>{when}</GeneratedTime>")
                if scope in self.generating:
                    return self._error(404, "ReportInProgress", "Report generation in progress. Try again later.")
                if stored is not None:
                    return self._error(410, "ReportExpired", "The credential report is expired.")
                return self._error(410, "ReportNotPresent", "Credential report not present.")
            if fresh:
                state = "COMPLETE"
            elif scope not in self.generating:
                self.generating[scope] = self.settings.report_polls
                state = "STARTED"
            elif self.generating[scope] > 0:
                self.generating[scope] -= 1
                state = "INPROGRESS"
            else:
                del self.generating[scope]
                self.reports[scope] = (self._make_report(environ, partition, account), self.now())
                state = "COMPLETE"
            self.answered[state] += 1
            return self._result("GenerateCredentialReport", f"<State>{state}</State>")

    def _make_report(self, environ, partition: str, account: str) -> str:
        self._forward(environ, b"Action=GenerateCredentialReport&Version=2010-05-08")
        dummy, dummy, answer = self._forward(environ, b"Action=GetCredentialReport&Version=2010-05-08")
        content = base64.b64decode(ET.fromstring(answer).find(f".//{{{IAM_NS}}}Content").text).decode()
        rows = list(csv.DictReader(io.StringIO(content)))
        header = content.splitlines()[0].split(",")
        root = dict.fromkeys(header, "N/A")
        root.update({
            "user": "<root_account>", "arn": f"arn:{partition}:iam::{account}:root", "user_creation_time": "2015-01-01T00:00:00+00:00",
            "password_enabled": "not_supported", "password_last_changed": "not_supported",
            "password_next_rotation": "not_supported", "access_key_2_active": "false",
            "cert_1_active": "false", "cert_2_active": "false",
        })
        root.update(self._root_row(account))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows([root] + rows)
        return out.getvalue()

    def _root_row(self, account: str) -> Dict[str, str]:
        described = self._root_of(account)
        if described is None:
            return {"mfa_active": "true", "password_last_used": "no_information", "access_key_1_active": "false"}
        password = described.get("password", True)
        return {"mfa_active": "true" if described.get("mfa", "none") != "none" else "false",
                "password_last_used": (described.get("password_last_used") or "no_information") if password else "N/A",
                "access_key_1_active": "true" if described.get("access_keys") else "false",
                "cert_1_active": "true" if described.get("certificates") else "false"}

    def _result(self, action: str, inner: str):
        body = (f'<{action}Response xmlns="{IAM_NS}"><{action}Result>{inner}</{action}Result>'
                f"<ResponseMetadata><RequestId>aws-like</RequestId></ResponseMetadata></{action}Response>")
        return 200, "text/xml", body.encode()

    # --- pages ----------------------------------------------------------------------------------

    def _iam_page(self, environ, form: Dict[str, str], action: str, caller: str):
        size = int(form.pop("MaxItems", IAM_PAGE))
        if not 1 <= size <= IAM_MAX_PAGE:
            return self._error(400, "ValidationError", f"1 validation error detected: Value '{size}' at 'maxItems' failed to satisfy "
                                                       f"constraint: Member must have value less than or equal to {IAM_MAX_PAGE}")
        start = int(form.pop("Marker", "0") or 0)
        # The next pages of a list are cut from the answer the first page was cut from (until something changes), as
        # AWS serves each page at the cost of a page: moto renders the whole list each time it is asked.
        key = (caller, action, tuple(sorted(form.items())))
        with self.lock:
            answer = self.lists.get(key) if start else None
        fresh = answer is None
        if fresh:
            status, dummy, answer = self._forward(environ, urlencode(dict(form, MaxItems="100000")).encode())
            if not status.startswith("200"):
                return int(status.split()[0]), "text/xml", answer
        ET.register_namespace("", IAM_NS)
        tree = ET.fromstring(answer)
        result = tree.find(f"{{{IAM_NS}}}{action}Result")
        members = []
        for name in PAGED[action]:
            listed = result.find(f"{{{IAM_NS}}}{name}")
            if listed is not None:
                members += [(listed, member) for member in list(listed)]
                for member in list(listed):
                    listed.remove(member)
        size = min(size, self.settings.page_cap or size)
        for listed, member in members[start:start + size]:
            listed.append(member)
        for name in ("IsTruncated", "Marker"):
            for old in result.findall(f"{{{IAM_NS}}}{name}"):
                result.remove(old)
        truncated = start + size < len(members)
        ET.SubElement(result, f"{{{IAM_NS}}}IsTruncated").text = "true" if truncated else "false"
        if truncated:
            ET.SubElement(result, f"{{{IAM_NS}}}Marker").text = str(start + size)
        if truncated and fresh:
            with self.lock:
                self.lists[key] = answer
        return 200, "text/xml", ET.tostring(tree)

    def _org_page(self, environ, body: bytes):
        request = json.loads(body or b"{}")
        size = int(request.pop("MaxResults", ORG_PAGE))
        if not 1 <= size <= ORG_PAGE:
            return self._error(400, "InvalidInputException", f"MaxResults must be between 1 and {ORG_PAGE}", True)
        start = int(request.pop("NextToken", "0") or 0)
        accounts, token = [], None
        while True:  # every account, through moto's own pages (100 accounts each)
            status, dummy, answer = self._forward(environ, json.dumps(dict(request, **({"NextToken": token} if token else {}))).encode())
            if not status.startswith("200"):
                return int(status.split()[0]), "application/x-amz-json-1.1", answer
            served = json.loads(answer)
            accounts.extend(served["Accounts"])
            token = served.get("NextToken")
            if not token:
                break
        page = {"Accounts": accounts[start:start + size]}
        if start + size < len(accounts):
            page["NextToken"] = str(start + size)
        return 200, "application/x-amz-json-1.1", json.dumps(page).encode()


SECURITYHUB_ACTIONS = {("POST", "/findings/import"): "securityhub.BatchImportFindings", ("POST", "/findings"): "securityhub.GetFindings"}
# ASFF's required fields (BatchImportFindings refuses a finding without one).
ASFF_REQUIRED = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Severity", "Title",
                 "Description", "Resources")
SECURITYHUB_FILTERED = ("Id", "ProductArn", "AwsAccountId", "GeneratorId", "RecordState")
SECURITYHUB_PAGE = 100


def _matches(value: str, conditions) -> bool:
    """Whether ``value`` passes one field's string filters (Security Hub ORs those of one field but NOT_EQUALS, which it ANDs)."""
    positive = [c for c in conditions if c.get("Comparison") in ("EQUALS", "PREFIX")]
    for condition in conditions:
        if condition.get("Comparison") == "NOT_EQUALS" and value == condition.get("Value"):
            return False
    return not positive or any(value == c["Value"] if c["Comparison"] == "EQUALS" else value.startswith(c["Value"]) for c in positive)


def _role(arn: str):
    """The IAM role of ``arn`` in moto, or None."""
    from moto.iam.models import iam_backends  # pylint: disable=import-outside-toplevel

    found = re.fullmatch(r"arn:([\w-]+):iam::(\d{12}):role/.+", arn)
    if not found or found.group(2) not in iam_backends:
        return None
    try:
        return iam_backends[found.group(2)][found.group(1)].get_role_by_arn(arn)
    except Exception:  # pylint: disable=broad-exception-caught  # moto's NotFoundException
        return None


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _trusts(document: str, mfa: Optional[str], external_id: Optional[str]) -> bool:
    """Whether a trust policy allows sts:AssumeRole with this MFA context (``"true"``, ``"false"``, None: absent) and ExternalId."""
    policy = json.loads(document) if document.lstrip().startswith("{") else json.loads(unquote(document))
    for statement in _listed(policy.get("Statement") or []):
        actions = _listed(statement.get("Action") or [])
        if statement.get("Effect") != "Allow" or not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        if all(_condition_holds(operator, key, value, mfa, external_id)
               for operator, pairs in (statement.get("Condition") or {}).items() for key, value in pairs.items()):
            return True
    return False


def _condition_holds(operator: str, key: str, value, mfa: Optional[str], external_id: Optional[str]) -> bool:
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in _listed(value)]
    if key.lower() == "aws:multifactorauthpresent":
        present = mfa is not None and mfa in [w.lower() for w in wanted]
        return present or (operator.endswith("IfExists") and mfa is None)
    if key.lower() == "sts:externalid":
        return external_id in wanted if operator.startswith("StringEquals") else True
    return True  # a condition this server does not evaluate


def _securityhub_backend(account: str, region: str):
    from moto.securityhub.models import securityhub_backends  # pylint: disable=import-outside-toplevel

    return securityhub_backends[account][region]


def console_login(login: Dict, partition: str = "aws") -> Dict:
    """A LookupEvents event of a console sign-in, as CloudTrail records it (``login``: see ``console_logins``)."""
    when = datetime.fromisoformat(login["time"].replace("Z", "+00:00"))
    user = login.get("user")
    identity = ({"type": "Root", "principalId": ACCOUNT_ID, "arn": f"arn:{partition}:iam::{ACCOUNT_ID}:root", "accountId": ACCOUNT_ID}
                if user is None else
                {"type": "IAMUser", "principalId": "AIDAAWSLIKE", "arn": f"arn:{partition}:iam::{ACCOUNT_ID}:user/{user}",
                 "accountId": ACCOUNT_ID, "userName": user})
    success = login.get("success", True)
    detail = {
        "eventVersion": "1.08", "userIdentity": identity, "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.10", "userAgent": "Mozilla/5.0", "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success" if success else "Failure"},
        "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No",
                                "MFAUsed": "Yes" if login.get("mfa") else "No"},
        "eventID": f"awslike-{int(when.timestamp())}-{user or 'root'}", "readOnly": False, "eventType": "AwsConsoleSignIn",
        "managementEvent": True, "recipientAccountId": ACCOUNT_ID, "eventCategory": "Management",
    }
    if not success:
        detail["errorMessage"] = "Failed authentication"
    return {"EventId": detail["eventID"], "EventName": "ConsoleLogin", "ReadOnly": "false", "EventTime": when.timestamp(),
            "EventSource": "signin.amazonaws.com", "Username": user or "root", "Resources": [], "CloudTrailEvent": json.dumps(detail)}


def outside_any_organization(iam):
    """An in-process moto (``mock_aws``) IAM client that answers iam:ListOrganizationsFeatures, which moto lacks, as AWS
    does for an account outside any Organization."""
    from botocore.awsrequest import AWSResponse  # pylint: disable=import-outside-toplevel

    def answer(**kwargs):  # pylint: disable=unused-argument
        error = {"Code": "OrganizationNotFoundException", "Message": "The account is not in an Organization."}
        return AWSResponse("https://iam.amazonaws.com/", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    iam.meta.events.register("before-call.iam.ListOrganizationsFeatures", answer)
    return iam
