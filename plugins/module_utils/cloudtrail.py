# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Console sign-ins without MFA, from CloudTrail's event history (LookupEvents of ConsoleLogin, in the client's Region).
``cloudtrail`` is a retrying client (clients.retrying)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Callable, Dict, Iterable, List, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.credential_report import report_time
from ansible_collections.awssec.mfa.plugins.module_utils.errors import aws_call
from ansible_collections.awssec.mfa.plugins.module_utils.records import Evidence, SignIns, as_utc


LOOKUP_EVENTS_RATE = 2.0  # requests a second CloudTrail serves LookupEvents, per account and Region
LOOKUP_EVENTS_PAGE = 50  # the most events a LookupEvents page holds


def _console_logins(cloudtrail, start: datetime, end: datetime, sleep: Callable, clock: Callable = time.monotonic) -> Tuple[List[Dict], int]:
    """Every ConsoleLogin event from ``start`` to ``end``, paced at LOOKUP_EVENTS_RATE; (events, pages read)."""
    events: List[Dict] = []
    request = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}],
               "StartTime": start, "EndTime": end, "MaxResults": LOOKUP_EVENTS_PAGE}
    pages, last = 0, None
    while True:
        if last is not None:
            wait = 1 / LOOKUP_EVENTS_RATE - (clock() - last)
            if wait > 0:
                sleep(wait)
        last = clock()
        page = aws_call("look up console sign-ins (cloudtrail:LookupEvents)", cloudtrail.lookup_events, **request, aws_retry=True)
        pages += 1
        events += page.get("Events", [])
        if not page.get("NextToken"):
            return events, pages
        request["NextToken"] = page["NextToken"]


def sign_ins_without_mfa(events: Iterable[Dict]) -> Tuple[Dict[str, SignIns], SignIns]:
    """Successful console sign-ins without MFA (``additionalEventData.MFAUsed`` ``No``) in LookupEvents' events:
    by IAM user name, and the root user's."""
    by_user: Dict[str, SignIns] = {}
    root = SignIns()
    for event in events:
        try:
            detail = json.loads(event.get("CloudTrailEvent") or "{}")
        except ValueError:
            continue
        if (detail.get("additionalEventData") or {}).get("MFAUsed") != "No":
            continue
        if (detail.get("responseElements") or {}).get("ConsoleLogin") != "Success":
            continue
        identity = detail.get("userIdentity") or {}
        if identity.get("type") == "Root":
            found = root
        elif identity.get("type") == "IAMUser" and identity.get("userName"):
            found = by_user.setdefault(identity["userName"], SignIns())
        else:
            continue  # federated and assumed-role sign-ins: MFA is the identity provider's
        when = as_utc(event.get("EventTime")) if isinstance(event.get("EventTime"), datetime) else report_time(detail.get("eventTime"))
        found.without_mfa += 1
        if when is not None and (found.last_without_mfa is None or when > found.last_without_mfa):
            found.last_without_mfa = when
    return by_user, root


def console_evidence(cloudtrail, days: int, now: datetime, sleep: Callable) -> Tuple[Evidence, Dict[str, SignIns]]:
    events, pages = _console_logins(cloudtrail, now - timedelta(days=days), now, sleep)
    by_user, root = sign_ins_without_mfa(events)
    return Evidence(days=days, region=cloudtrail.meta.region_name, events=len(events), calls=pages, root=root), by_user
