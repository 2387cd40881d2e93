# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report's findings as OCSF records (the ``ocsf`` report format): one Detection Finding per user and reason, and one
per account's root reason, with the identifiers of the Security Hub findings (findings.py). See docs/ocsf.md.

Pure functions of the facts (one account's, or aggregated by org.aggregate). The records follow OCSF 1.5.0; the tests
check each against py-ocsf-models, which this code does not import (the collection does not depend on it).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional

from ansible_collections.awssec.mfa.plugins.module_utils.findings import Finding, each_finding

OCSF_VERSION = "1.5.0"
PRODUCT = {"name": "awssec.mfa", "uid": "awssec.mfa", "vendor_name": "awssec.mfa contributors"}
# Detection Finding (class 2004), not Compliance Finding (2003): a Compliance Finding must name the standard and control
# it evaluates (compliance.standards, compliance.control), which a finding of this collection has only for a few
# reasons (CIS for the root user's), and py-ocsf-models' model of it has no cloud object; a Detection Finding carries
# the cloud account, the resources, the remediation and the risk, is what Prowler emits (-M json-ocsf) and what Security
# Lake and SIEMs take from posture tools. The reason is the analytic (a rule) that found it.
CLASS_UID, CLASS_NAME = 2004, "Detection Finding"
CATEGORY_UID, CATEGORY_NAME = 2, "Findings"
ACTIVITY_ID, ACTIVITY_NAME = 1, "Create"
# OCSF's severity_id and its caption, per Finding.severity.
SEVERITY_IDS = {"LOW": (2, "Low"), "MEDIUM": (3, "Medium"), "HIGH": (4, "High"), "CRITICAL": (5, "Critical")}
# OCSF's status_id and its caption: an exempted user's findings were reviewed and accepted (Suppressed); every other is New.
STATUS_NEW, STATUS_SUPPRESSED = (1, "New"), (3, "Suppressed")
ANALYTIC_RULE = (1, "Rule")
ACCOUNT_TYPE = (10, "AWS Account")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_ms(when: str) -> int:
    """OCSF's timestamp_t: milliseconds since the epoch, of an ISO 8601 time (UTC when it names no offset)."""
    moment = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _account_names(facts: Dict) -> Dict[str, str]:
    return {row["account_id"]: row.get("account_name") or row["account_id"] for row in facts.get("accounts") or () if row.get("account_id")}


def ocsf_record(finding: Finding, time: int, account_name: Optional[str] = None) -> Dict:
    """One finding as an OCSF 1.5.0 Detection Finding; ``time`` (epoch ms) is when the facts were gathered."""
    severity_id, severity = SEVERITY_IDS[finding.severity]
    user = finding.user or {}
    status_id, status = STATUS_SUPPRESSED if user.get("status") == "exempted" else STATUS_NEW
    if finding.user is None:
        resource = {"type": "AwsAccount", "uid": finding.resource_arn, "name": "root"}
    else:
        resource = {"type": "AwsIamUser", "uid": finding.resource_arn, "name": user["username"]}
    resource["cloud_partition"] = finding.partition
    name = user.get("account_name") or account_name or finding.account_id
    return {
        "metadata": {"version": OCSF_VERSION, "product": dict(PRODUCT), "event_code": finding.reason, "profiles": ["cloud"]},
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "activity_id": ACTIVITY_ID,
        "activity_name": ACTIVITY_NAME,
        "type_uid": CLASS_UID * 100 + ACTIVITY_ID,
        "type_name": f"{CLASS_NAME}: {ACTIVITY_NAME}",
        "time": time,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "finding_info": {
            "uid": finding.id,
            "title": finding.title,
            "desc": finding.description,
            "analytic": {"uid": finding.generator_id, "name": finding.reason, "type_id": ANALYTIC_RULE[0], "type": ANALYTIC_RULE[1]},
        },
        "cloud": {"provider": "AWS", "account": {"uid": finding.account_id, "name": name, "type_id": ACCOUNT_TYPE[0], "type": ACCOUNT_TYPE[1]}},
        "resources": [resource],
        "remediation": {"desc": finding.remediation},
        # The same keys in every record, null where they do not apply (a root finding has no user status, risk or note).
        "unmapped": {"reason": finding.reason, "user_status": user.get("status"), "risk": user.get("risk"), "note": finding.note},
    }


def ocsf_records(facts: Dict) -> List[Dict]:
    """Every finding of the facts as an OCSF record, in the order of findings.each_finding."""
    time = epoch_ms(facts["generated_at"])
    names = _account_names(facts)
    return [ocsf_record(finding, time, names.get(finding.account_id)) for finding in each_finding(facts)]


def render_ocsf(facts: Dict, trend: Optional[Dict] = None) -> str:
    """The ``ocsf`` report: a JSON array of OCSF records, one per user and reason and per account's root reason.
    The trends (``trend``) have no place in a finding record and are left out."""
    return json.dumps(ocsf_records(facts), indent=2) + "\n"
