# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""WSGI middleware that makes the moto server behave like AWS where moto is kinder.

Each behaviour is a setting, off by default (then requests pass through untouched):

- ``paging``: IAM lists come in pages as AWS serves them (``MaxItems`` honoured, 100 by default, at most
  1,000, ``IsTruncated``/``Marker``); Organizations ListAccounts 20 a page with ``NextToken``. AWS may serve
  fewer items than asked for while there are more: ``page_cap`` serves at most that many a page.
- ``report``: GenerateCredentialReport answers STARTED, then INPROGRESS ``report_polls`` times, then
  COMPLETE. The report is made then, with the ``<root_account>`` row, and dated by this server's
  clock; for 4 hours it is served as it was, whatever changed since (AWS's documented behaviour).
- ``throttle``: (rate per second, burst) of a token bucket per action; past it, ``Throttling``
  (``TooManyRequestsException`` for Organizations). ``throttle_actions`` limits it to those actions; a
  burst of 0 throttles each action's first request.
  ``report_limit``: the same for GenerateCredentialReport alone, answered with ``LimitExceeded``.
- ``new_key_delay``: seconds during which IAM and STS refuse a new access key (``InvalidClientTokenId``).

Partitions come from moto: the account is in aws-us-gov or aws-cn when requests are signed for
us-gov-west-1 or cn-north-1; the root row's ARN follows the signing region.
"""

from __future__ import annotations

import base64
import collections
import csv
import io
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Dict, Optional, Tuple
from urllib.parse import parse_qsl, urlencode

ACCOUNT_ID = "123456789012"
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
IAM_PAGE, IAM_MAX_PAGE, ORG_PAGE = 100, 1000, 20
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
            self.reports: Dict[str, Tuple[str, float]] = {}  # partition -> (CSV, generated at)
            self.generating: Dict[str, int] = {}  # partition -> INPROGRESS answers left
            self.buckets: Dict[str, Tuple[float, float]] = {}
            self.new_keys: Dict[str, float] = {}
            self.answered = collections.Counter()  # errors and states this layer answered, e.g. Throttling
            self.throttled = collections.Counter()  # throttled requests by action

    def advance(self, seconds: float) -> None:
        """Move this server's clock (the one reports are dated and aged by)."""
        self.offset += seconds

    def now(self) -> float:
        return time.time() + self.offset

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        form = dict(parse_qsl(body.decode("utf-8", "replace"))) if body and not target else {}
        action = target.rpartition(".")[2] if target else form.get("Action") or ""
        match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION") or "")
        key_id, region, service = match.groups() if match else ("", "us-east-1", "")
        with self.lock:
            error = self._refusal(action, key_id, service, bool(target))
        if error:
            return self._send(start_response, *error)
        if self.settings.report and action in ("GenerateCredentialReport", "GetCredentialReport"):
            return self._send(start_response, *self._report(environ, action, partition_of_region(region)))
        if self.settings.paging and action in PAGED:
            return self._send(start_response, *self._iam_page(environ, form, action))
        if self.settings.paging and target.endswith(".ListAccounts"):
            return self._send(start_response, *self._org_page(environ, body))
        status, headers, answer = self._forward(environ, body)
        if action == "CreateAccessKey" and status.startswith("200"):
            found = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", answer)
            if found:
                self.new_keys[found.group(1).decode()] = time.monotonic()
        start_response(status, headers)
        return [answer]

    def _refusal(self, action: str, key_id: str, service: str, json_protocol: bool):
        delay = self.settings.new_key_delay
        if delay and service in ("iam", "sts") and time.monotonic() - self.new_keys.get(key_id, -delay) < delay:
            return self._error(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        throttled = self.settings.throttle and (self.settings.throttle_actions is None or action in self.settings.throttle_actions)
        if throttled and not self._take(action, *self.settings.throttle):
            self.throttled[action] += 1
            if json_protocol:
                return self._error(400, "TooManyRequestsException", "AWS Organizations can't complete your request.", json_protocol)
            return self._error(400, "Throttling", "Rate exceeded")
        if action == "GenerateCredentialReport" and self.settings.report_limit and not self._take("report", *self.settings.report_limit):
            return self._error(409, "LimitExceeded", "Credential report generation is limited; try again later.")
        return None

    def _take(self, bucket: str, rate: float, burst: float) -> bool:
        """A token bucket that starts with ``burst`` tokens and holds at least one."""
        now = time.monotonic()
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
        return started["status"], started["headers"] + [("Content-Length", str(len(answer)))], answer

    # --- the credential report --------------------------------------------------------------------

    def _report(self, environ, action: str, partition: str):
        with self.lock:
            stored = self.reports.get(partition)
            fresh = stored is not None and self.now() - stored[1] < REPORT_LIFETIME
            if action == "GetCredentialReport":
                if fresh:
                    content, generated = stored
                    when = datetime.fromtimestamp(generated, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                    encoded = base64.b64encode(content.encode()).decode()
                    return self._result("GetCredentialReport", f"<Content>{encoded}</Content><ReportFormat>text/csv</ReportFormat>"
                                                               f"<GeneratedTime>{when}</GeneratedTime>")
                if partition in self.generating:
                    return self._error(404, "ReportInProgress", "Report generation in progress. Try again later.")
                if stored is not None:
                    return self._error(410, "ReportExpired", "The credential report is expired.")
                return self._error(410, "ReportNotPresent", "Credential report not present.")
            if fresh:
                state = "COMPLETE"
            elif partition not in self.generating:
                self.generating[partition] = self.settings.report_polls
                state = "STARTED"
            elif self.generating[partition] > 0:
                self.generating[partition] -= 1
                state = "INPROGRESS"
            else:
                del self.generating[partition]
                self.reports[partition] = (self._make_report(environ, partition), self.now())
                state = "COMPLETE"
            self.answered[state] += 1
            return self._result("GenerateCredentialReport", f"<State>{state}</State>")

    def _make_report(self, environ, partition: str) -> str:
        self._forward(environ, b"Action=GenerateCredentialReport&Version=2010-05-08")
        dummy, dummy, answer = self._forward(environ, b"Action=GetCredentialReport&Version=2010-05-08")
        content = base64.b64decode(ET.fromstring(answer).find(f".//{{{IAM_NS}}}Content").text).decode()
        rows = list(csv.DictReader(io.StringIO(content)))
        header = content.splitlines()[0].split(",")
        root = dict.fromkeys(header, "N/A")
        root.update({
            "user": "<root_account>", "arn": f"arn:{partition}:iam::{ACCOUNT_ID}:root", "user_creation_time": "2015-01-01T00:00:00+00:00",
            "password_enabled": "not_supported", "password_last_used": "no_information", "password_last_changed": "not_supported",
            "password_next_rotation": "not_supported", "mfa_active": "true", "access_key_1_active": "false", "access_key_2_active": "false",
            "cert_1_active": "false", "cert_2_active": "false",
        })
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows([root] + rows)
        return out.getvalue()

    def _result(self, action: str, inner: str):
        body = (f'<{action}Response xmlns="{IAM_NS}"><{action}Result>{inner}</{action}Result>'
                f"<ResponseMetadata><RequestId>aws-like</RequestId></ResponseMetadata></{action}Response>")
        return 200, "text/xml", body.encode()

    # --- pages ----------------------------------------------------------------------------------

    def _iam_page(self, environ, form: Dict[str, str], action: str):
        size = int(form.pop("MaxItems", IAM_PAGE))
        if not 1 <= size <= IAM_MAX_PAGE:
            return self._error(400, "ValidationError", f"1 validation error detected: Value '{size}' at 'maxItems' failed to satisfy "
                                                       f"constraint: Member must have value less than or equal to {IAM_MAX_PAGE}")
        start = int(form.pop("Marker", "0") or 0)
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
        return 200, "text/xml", ET.tostring(tree)

    def _org_page(self, environ, body: bytes):
        request = json.loads(body or b"{}")
        size = int(request.pop("MaxResults", ORG_PAGE))
        if not 1 <= size <= ORG_PAGE:
            return self._error(400, "InvalidInputException", f"MaxResults must be between 1 and {ORG_PAGE}", True)
        start = int(request.pop("NextToken", "0") or 0)
        status, dummy, answer = self._forward(environ, json.dumps(request).encode())
        if not status.startswith("200"):
            return int(status.split()[0]), "application/x-amz-json-1.1", answer
        accounts = json.loads(answer)["Accounts"]
        page = {"Accounts": accounts[start:start + size]}
        if start + size < len(accounts):
            page["NextToken"] = str(start + size)
        return 200, "application/x-amz-json-1.1", json.dumps(page).encode()
