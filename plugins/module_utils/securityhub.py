# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report's findings in AWS Security Hub, kept in step with each run (iam_mfa_securityhub).

One finding per user and reason, and per account's root reason (findings.each_finding), in the AWS Security Finding
Format, imported with securityhub:BatchImportFindings into an account's default custom product
(``arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default``). A finding's Id is the same for the same user and
reason, so a later run updates it; the findings of earlier runs that no longer hold (read back with
securityhub:GetFindings, filtered on this collection's generators) are updated to PASSED and ARCHIVED.

``plan`` and ``asff`` are pure; ``read_active`` and ``send`` make the calls, on a retrying client (clients.retrying).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional, Set, Tuple

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.awssec.mfa.plugins.module_utils.clients import THROTTLING_CODES
from ansible_collections.awssec.mfa.plugins.module_utils.errors import error_code, error_reason
from ansible_collections.awssec.mfa.plugins.module_utils.findings import GENERATOR_PREFIX, Finding, whole_accounts
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import bounded_map

SCHEMA_VERSION = "2018-10-08"
BATCH_SIZE = 100  # findings per BatchImportFindings request: AWS's maximum
TYPES = ["Software and Configuration Checks/AWS Security Best Practices/IAM MFA"]
# Security Hub answers a request past its rate (BatchImportFindings: 10 a second, bursts of 30) with
# TooManyRequestsException, which AWSRetry retries, and LimitExceededException ("throttling limits"), which it does not.
RETRY = AWSRetry.jittered_backoff(retries=10, catch_extra_error_codes=THROTTLING_CODES + ["LimitExceededException"])
# What a finding says (compared between runs to tell an update that changes something from one that only re-observes it).
COMPARED = ("Title", "Description", "Severity", "FindingProviderFields", "Compliance", "RecordState", "Remediation", "Resources",
            "ProductFields", "UserDefinedFields", "Note", "Types", "GeneratorId")


def product_arn(partition: str, region: str, account_id: str) -> str:
    """The account's default product: the one every account may import its own findings into."""
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def timestamp(when) -> str:
    """ASFF's time format (RFC 3339 in UTC, with milliseconds) of a datetime or of an ISO 8601 text with its offset."""
    when = datetime.fromisoformat(when) if isinstance(when, str) else when
    when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_id(finding_id: str) -> Optional[Tuple[str, Optional[str], str]]:
    """(account, user or None for the root user, reason) of this collection's finding Id; None for any other Id."""
    if not finding_id.startswith(GENERATOR_PREFIX):
        return None
    parts = finding_id[len(GENERATOR_PREFIX):].split("/")
    if len(parts) == 3 and parts[1] == "root" and parts[2]:
        return parts[0], None, parts[2]
    account, kind, user, reason = parts[0], parts[1] if len(parts) > 1 else "", "/".join(parts[2:-1]), parts[-1]
    return (account, user, reason) if kind == "user" and user and reason else None


def _resource(finding: Finding, region: str) -> Dict:
    if finding.user is None:
        return {"Type": "AwsAccount", "Id": f"AWS::::Account:{finding.account_id}", "Partition": finding.partition, "Region": region}
    details = {"UserName": finding.user["username"]}
    if finding.user.get("created"):
        details["CreateDate"] = finding.user["created"]
    return {"Type": "AwsIamUser", "Id": finding.resource_arn, "Partition": finding.partition, "Region": region,
            "Details": {"AwsIamUser": details}}


def asff(finding: Finding, importer: str, product: str, region: str, now: str, observed: str, earlier: Optional[Dict] = None) -> Dict:
    """The finding in ASFF, imported by account ``importer`` into ``product``; ``earlier`` is its finding of an earlier run
    (whose CreatedAt and FirstObservedAt it keeps)."""
    user = finding.user or {}
    fields = {"reason": finding.reason, "account_id": finding.account_id}
    if finding.user is not None:
        fields.update(status=user["status"], risk=user["risk"])
    asff_finding = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding.id,
        "ProductArn": product,
        "ProductName": "awssec.mfa",
        "CompanyName": "awssec",
        "GeneratorId": finding.generator_id,
        "AwsAccountId": importer,
        "Types": TYPES,
        "CreatedAt": (earlier or {}).get("CreatedAt") or now,
        "UpdatedAt": now,
        "FirstObservedAt": (earlier or {}).get("FirstObservedAt") or observed,
        "LastObservedAt": observed,
        "Severity": {"Label": finding.severity, "Original": user.get("risk") or finding.severity.lower()},
        # What the provider says, kept apart from what the security team may set on the finding (BatchUpdateFindings).
        "FindingProviderFields": {"Severity": {"Label": finding.severity, "Original": user.get("risk") or finding.severity.lower()},
                                  "Types": TYPES},
        "Title": finding.title,
        "Description": finding.description[:1024],
        "Remediation": {"Recommendation": {"Text": finding.remediation[:512]}},
        "ProductFields": {f"awssec.mfa/{k}": str(v) for k, v in fields.items()},
        "Resources": [_resource(finding, region)],
        "Compliance": {"Status": "FAILED"},
        "RecordState": "ACTIVE",
    }
    if finding.note:
        asff_finding["Note"] = {"Text": finding.note[:512], "UpdatedBy": "awssec.mfa", "UpdatedAt": now}
        asff_finding["UserDefinedFields"] = {"awssec.mfa/status": user["status"], "awssec.mfa/note": finding.note[:512]}
    return asff_finding


def archived(earlier: Dict, now: str) -> Dict:
    """An earlier run's finding that no longer holds: PASSED and ARCHIVED (every other field as it was)."""
    kept = {k: v for k, v in earlier.items() if k in COMPARED or k in ("SchemaVersion", "Id", "ProductArn", "ProductName", "CompanyName",
                                                                       "AwsAccountId", "CreatedAt", "FirstObservedAt", "LastObservedAt")}
    return dict(kept, UpdatedAt=now, Compliance={"Status": "PASSED"}, RecordState="ARCHIVED")


@dataclass
class Scope:
    """What one run's facts can tell about an account: its users (all of them, or only these), and its root user."""
    users: Set[str] = field(default_factory=set)
    all_users: bool = False
    root: bool = False

    def covers(self, user: Optional[str]) -> bool:
        return self.root if user is None else (self.all_users or user in self.users)


def scopes(facts: Dict) -> Dict[str, Scope]:
    """Per account of the facts (those reported), what its findings of earlier runs can be judged against."""
    rows = facts.get("accounts")
    if rows is None:
        rows = [{"account_id": facts["account_id"], "status": "ok", "root": facts.get("root")}]
    whole = whole_accounts(facts)
    found = {row["account_id"]: Scope(all_users=whole, root=bool(row.get("root"))) for row in rows if row.get("status") == "ok"}
    for user in facts["users"]:
        account = user.get("account_id") or facts["account_id"]
        if account in found:
            found[account].users.add(user["username"])
    return found


@dataclass
class Plan:
    create: List[Dict] = field(default_factory=list)
    update: List[Dict] = field(default_factory=list)
    changed: Dict[str, Dict] = field(default_factory=dict)  # updated findings that say something new: Id -> what it said
    archive: List[Dict] = field(default_factory=list)


def plan(findings: Iterable[Finding], active: List[Dict], covered: Dict[str, Scope], importer: str, product: str, region: str,
         now: str, observed: str) -> Plan:
    """What one import does: the findings to create and to update (with what they had), and the active findings of earlier
    runs to archive - those of accounts and users these facts cover that no longer hold."""
    earlier = {f["Id"]: f for f in active}
    result, current = Plan(), set()
    for finding in findings:
        new = asff(finding, importer, product, region, now, observed, earlier.get(finding.id))
        current.add(finding.id)
        if finding.id not in earlier:
            result.create.append(new)
            continue
        result.update.append(new)
        if any(_comparable(new.get(k)) != _comparable(earlier[finding.id].get(k)) for k in COMPARED if k != "Note"):
            result.changed[finding.id] = view(earlier[finding.id])
    for finding_id, old in earlier.items():
        parsed = parse_id(finding_id)
        if finding_id in current or parsed is None or parsed[0] not in covered or not covered[parsed[0]].covers(parsed[1]):
            continue
        result.archive.append(archived(old, now))
    return result


def _comparable(value):
    """A field as the comparison sees it: Resources without the details AWS may add or format its own way."""
    if isinstance(value, list) and value and isinstance(value[0], dict) and "Type" in value[0]:
        return [(r.get("Type"), r.get("Id")) for r in value]
    return value


def filters(product: str, importer: str) -> Dict:
    """GetFindings' filters: this collection's active findings in the importer's default product."""
    return {"ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
            "AwsAccountId": [{"Value": importer, "Comparison": "EQUALS"}],
            "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]}


def read_active(client, product: str, importer: str) -> List[Dict]:
    """This collection's active findings in the importer's product (securityhub:GetFindings, every page)."""
    found, token = [], None
    while True:
        answer = client.get_findings(Filters=filters(product, importer), MaxResults=100, aws_retry=True, **({"NextToken": token} if token else {}))
        found += answer.get("Findings", [])
        token = answer.get("NextToken")
        if not token:
            return found


def batches(items: List[Dict], size: int = BATCH_SIZE) -> List[List[Dict]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def send(client, items: List[Dict]) -> Tuple[int, List[Dict]]:
    """Import ``items`` (securityhub:BatchImportFindings, at most 100 a request, throttling retried): (requests sent,
    the findings that failed, each with its Id, code and Security Hub's message). A request that fails after its retries
    fails its findings, not the others'."""
    failed, requests = [], 0
    for batch in batches(items):
        requests += 1
        try:
            answer = client.batch_import_findings(Findings=batch, aws_retry=True)
        except (BotoCoreError, ClientError) as e:
            failed += [{"id": f["Id"], "error_code": error_code(e) or "Error", "message": error_reason(e)} for f in batch]
            continue
        failed += [{"id": f.get("Id"), "error_code": f.get("ErrorCode"), "message": f.get("ErrorMessage")} for f in answer.get("FailedFindings") or ()]
    return requests, failed


@dataclass
class Target:
    """Where findings go: a Security Hub client with an account's credentials, that account (the importer) and partition."""
    client: object
    importer: str
    partition: str


def credentials_of(facts: Dict, destination: str, caller: str, accounts: List[Dict]) -> Dict[Optional[str], Optional[Dict]]:
    """How each account's findings are imported, decided before any call: with ``destination=accounts``, per account of
    the facts, None (the run's own credentials: the caller's account) or its entry of ``accounts`` (role_arn or
    aws_profile); with ``administrator``, {None: None} (every finding with the run's credentials). ValueError naming the
    accounts that no credentials reach (their findings would land in another account's Security Hub)."""
    if destination == "administrator":
        return {None: None}
    given = {str(a.get("account_id")): a for a in accounts or () if a.get("role_arn") or a.get("aws_profile")}
    found, missing = {}, []
    for account in scopes(facts):
        if account == caller:
            found[account] = None
        elif account in given:
            found[account] = given[account]
        else:
            missing.append(account)
    if missing:
        raise ValueError(f"no credentials for account{'s' if len(missing) > 1 else ''} {', '.join(missing)}: the run's credentials act as "
                         f"{caller}, and accounts gives no role_arn or aws_profile for {'them' if len(missing) > 1 else 'it'}. Give them in "
                         "accounts, or import every finding into the run's account with destination=administrator")
    return found


def keep_in_step(facts: Dict, findings_of: Dict[Optional[str], List[Finding]], targets: Dict[Optional[str], Target], region: str,
                 check_mode: bool, now: datetime, concurrency: int = 1) -> Dict:
    """Plan every import (reading each target's active findings), then, unless ``check_mode``, send them, at most
    ``concurrency`` targets at a time: the module's result. ``findings_of`` and ``targets`` are keyed alike (an account,
    or None for the administrator's import). Every plan is made before anything is sent."""
    stamp, observed = timestamp(now), timestamp(facts.get("generated_at") or now)
    covered = scopes(facts)

    def plan_one(key: Optional[str]) -> Tuple[str, Plan]:
        target = targets[key]
        product = product_arn(target.partition, region, target.importer)
        scope = covered if key is None else {key: covered[key]}
        active = read_active(target.client, product, target.importer)
        return product, plan(findings_of.get(key, []), active, scope, target.importer, product, region, stamp, observed)

    plans = dict(zip(targets, bounded_map(plan_one, list(targets), concurrency)))
    sent = dict(zip(plans, bounded_map(lambda key: send(targets[key].client, plans[key][1].create + plans[key][1].update + plans[key][1].archive),
                                       list(plans), concurrency))) if not check_mode else {}
    result = {"region": region, "created": [], "updated": [], "archived": [], "refused": [], "requests": 0, "accounts": []}
    for key, (product, todo) in plans.items():
        requests, failed = sent.get(key, (0, []))
        result["requests"] += requests
        bad = {f["id"] for f in failed}
        for name, items in (("created", todo.create), ("updated", todo.update), ("archived", todo.archive)):
            result[name] += [f["Id"] for f in items if f["Id"] not in bad]
        result["refused"] += failed
        result["accounts"].append({"account_id": key or targets[key].importer, "importer": targets[key].importer, "product_arn": product,
                                   "created": len(todo.create), "updated": len(todo.update), "changed": len(todo.changed),
                                   "archived": len(todo.archive), "refused": len(failed)})
    todos = [entry[1] for entry in plans.values()]
    result["changed"] = any(todo.create or todo.changed or todo.archive for todo in todos)
    result["diff"] = _diff(todos)
    return result


def view(finding: Dict) -> Dict:
    """What --diff shows of a finding."""
    return {"Severity": finding["Severity"]["Label"], "Compliance": finding["Compliance"]["Status"], "RecordState": finding["RecordState"],
            "Title": finding["Title"]}


def _diff(plans) -> Dict:
    before, after = {}, {}
    for todo in plans:
        for finding in todo.create:
            after[finding["Id"]] = view(finding)
        for finding in todo.update:
            if finding["Id"] in todo.changed:
                before[finding["Id"]], after[finding["Id"]] = todo.changed[finding["Id"]], view(finding)
        for finding in todo.archive:
            before[finding["Id"]] = dict(view(finding), Compliance="FAILED", RecordState="ACTIVE")
            after[finding["Id"]] = view(finding)
    return {"before": {"findings": before}, "after": {"findings": after}}
