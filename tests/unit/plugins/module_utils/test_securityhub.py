# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Security Hub's findings kept in step with the facts (securityhub.py): planned, sent and archived, against an in-memory
hub that filters and imports as Security Hub does (tests/support/aws_like.py's rules)."""

from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.awssec.mfa.plugins.module_utils.findings import each_finding, finding_id
from ansible_collections.awssec.mfa.plugins.module_utils.records import REASONS
from ansible_collections.awssec.mfa.plugins.module_utils.securityhub import (
    Target, credentials_of, keep_in_step, parse_id, product_arn, send, timestamp,
)
from tests.support.aws_like import SECURITYHUB_FILTERED, _matches

ACCOUNT = "123456789012"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


class Hub:
    """Security Hub's findings of one account, as BatchImportFindings and GetFindings see them."""

    def __init__(self, account=ACCOUNT, refuse=(), error=None):
        self.account, self.findings, self.requests, self.refuse, self.error = account, {}, [], set(refuse), error

    def get_findings(self, Filters, MaxResults, NextToken=None, aws_retry=False):  # pylint: disable=invalid-name
        found = [f for f in self.findings.values() if all(_matches(str(f.get(n, "")), Filters[n]) for n in SECURITYHUB_FILTERED if n in Filters)]
        start = int(NextToken or 0)
        answer = {"Findings": [dict(f) for f in found[start:start + MaxResults]]}
        if start + MaxResults < len(found):
            answer["NextToken"] = str(start + MaxResults)
        return answer

    def batch_import_findings(self, Findings, aws_retry=False):  # pylint: disable=invalid-name
        assert len(Findings) <= 100 and aws_retry
        self.requests.append(len(Findings))
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "BatchImportFindings")
        failed = [{"Id": f["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "refused"} for f in Findings if f["Id"] in self.refuse]
        for finding in Findings:
            if finding["Id"] not in self.refuse:
                assert finding["AwsAccountId"] == self.account
                self.findings[finding["Id"]] = dict(finding)
        return {"FailedCount": len(failed), "SuccessCount": len(Findings) - len(failed), "FailedFindings": failed}

    def active(self):
        return {i for i, f in self.findings.items() if f["RecordState"] == "ACTIVE"}


def user(name, reasons, status="non-compliant", risk="high", account=None, **extra):
    found = {"username": name, "arn": f"arn:aws:iam::{account or ACCOUNT}:user/{name}", "reasons": list(reasons), "status": status,
             "risk": risk, "created": "2025-01-01T00:00:00+00:00", "exemption": None, "grace_days_remaining": None}
    if account:
        found["account_id"] = account
    return dict(found, **extra)


def facts(users, root_reasons=(), **options):
    return {"account_id": ACCOUNT, "partition": "aws", "generated_at": NOW.isoformat(), "users": users, "options": options,
            "root": {"reasons": list(root_reasons)}}


def run(hub, the_facts, check_mode=False, now=NOW):
    target = Target(hub, hub.account, "aws")
    return keep_in_step(the_facts, {ACCOUNT: each_finding(the_facts)}, {ACCOUNT: target}, "us-east-1", check_mode, now)


def test_ids_are_stable_and_parse_back():
    assert finding_id(ACCOUNT, "console_without_mfa", "alice@example.com") == f"awssec.mfa/{ACCOUNT}/user/alice@example.com/console_without_mfa"
    assert parse_id(finding_id(ACCOUNT, "root_access_keys")) == (ACCOUNT, None, "root_access_keys")
    assert parse_id(finding_id(ACCOUNT, "unused_credentials", "a.b")) == (ACCOUNT, "a.b", "unused_credentials")
    assert parse_id("prowler-iam_root_mfa_enabled-123") is None
    assert product_arn("aws-us-gov", "us-gov-west-1", ACCOUNT) == f"arn:aws-us-gov:securityhub:us-gov-west-1:{ACCOUNT}:product/{ACCOUNT}/default"
    assert timestamp("2026-12-06T07:25:40.281452+01:00") == "2026-12-06T06:25:40.281Z"


def test_a_rerun_updates_and_archives_and_check_mode_sends_nothing():
    hub = Hub()
    first = facts([user("alice", ["console_without_mfa", "unused_credentials"]), user("bob", ["console_without_mfa"]),
                   user("carol", [], "compliant", "low")], ["root_without_mfa"])
    planned = run(hub, first, check_mode=True)
    assert hub.requests == [] and hub.findings == {} and len(planned["created"]) == 4 and planned["changed"]
    result = run(hub, first)
    assert sorted(result["created"]) == sorted(f.id for f in each_finding(first)) and hub.requests == [4]
    again = run(hub, first, now=NOW + timedelta(hours=1))
    assert again["created"] == [] and len(again["updated"]) == 4 and not again["changed"] and again["archived"] == []

    bob_fixed = facts([user("alice", ["console_without_mfa"], risk="medium"), user("bob", [], "compliant", "low")], ["root_without_mfa"])
    planned = run(hub, bob_fixed, check_mode=True, now=NOW + timedelta(hours=2))
    assert sorted(planned["archived"]) == [finding_id(ACCOUNT, r, n) for n, r in (("alice", "unused_credentials"), ("bob", "console_without_mfa"))]
    assert planned["diff"]["before"]["findings"][finding_id(ACCOUNT, "console_without_mfa", "alice")]["Severity"] == "HIGH"
    assert planned["diff"]["after"]["findings"][finding_id(ACCOUNT, "console_without_mfa", "alice")]["Severity"] == "MEDIUM"
    assert len(hub.active()) == 4  # check mode changed nothing
    result = run(hub, bob_fixed, now=NOW + timedelta(hours=2))
    assert hub.active() == {f.id for f in each_finding(bob_fixed)} and len(hub.findings) == 4
    gone = hub.findings[finding_id(ACCOUNT, "console_without_mfa", "bob")]
    assert (gone["RecordState"], gone["Compliance"]["Status"], gone["CreatedAt"]) == ("ARCHIVED", "PASSED", timestamp(NOW))
    kept = hub.findings[finding_id(ACCOUNT, "console_without_mfa", "alice")]
    assert kept["CreatedAt"] == timestamp(NOW) and kept["UpdatedAt"] == timestamp(NOW + timedelta(hours=2))


def test_only_what_the_facts_cover_is_archived():
    hub = Hub()
    run(hub, facts([user("alice", ["console_without_mfa"]), user("bob", ["console_without_mfa"])], ["root_without_mfa"]))
    # Facts of alice alone (include_users): bob's finding is not judged; alice's is gone.
    result = run(hub, facts([user("alice", [], "compliant", "low")], ["root_without_mfa"], include_users=["alice"]))
    assert result["archived"] == [finding_id(ACCOUNT, "console_without_mfa", "alice")]
    # Every user (no selection): bob is no longer in the account, so his finding no longer holds.
    result = run(hub, facts([], ["root_without_mfa"]))
    assert result["archived"] == [finding_id(ACCOUNT, "console_without_mfa", "bob")] and hub.active() == {finding_id(ACCOUNT, "root_without_mfa")}


def test_batches_of_100_and_refused_findings_are_reported_each():
    many = facts([user(f"user{n:03d}", ["console_without_mfa"]) for n in range(250)])
    refused = finding_id(ACCOUNT, "console_without_mfa", "user007")
    hub = Hub(refuse=[refused])
    result = run(hub, many)
    assert hub.requests == [100, 100, 50] and result["requests"] == 3
    assert result["refused"] == [{"id": refused, "error_code": "InvalidInput", "message": "refused"}]
    assert len(result["created"]) == 249 and refused not in result["created"]
    broken = Hub(error="AccessDeniedException")
    requests, failed = send(broken, [{"Id": str(n)} for n in range(120)])
    assert requests == 2 and len(failed) == 120 and failed[0]["error_code"] == "AccessDeniedException"


def test_each_account_is_reached_by_its_own_credentials_or_the_run_fails_before_any_call():
    org = {"account_id": "3 accounts", "users": [user("a", ["console_without_mfa"], account="111111111111"),
                                                 user("b", ["console_without_mfa"], account=ACCOUNT)],
           "accounts": [{"account_id": "111111111111", "status": "ok", "root": {"reasons": []}},
                        {"account_id": ACCOUNT, "status": "ok", "root": {"reasons": []}},
                        {"account_id": "222222222222", "status": "failed", "root": None}], "options": {}}
    role = {"account_id": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/R", "aws_profile": ""}
    assert credentials_of(org, "accounts", ACCOUNT, [role]) == {"111111111111": role, ACCOUNT: None}
    assert credentials_of(org, "administrator", ACCOUNT, []) == {None: None}
    with pytest.raises(ValueError, match="no credentials for account 111111111111: the run's credentials act as 123456789012"):
        credentials_of(org, "accounts", ACCOUNT, [{"account_id": "111111111111", "role_arn": "", "aws_profile": ""}])
    one = facts([user("a", ["console_without_mfa"])])
    with pytest.raises(ValueError, match="no credentials for account 123456789012"):
        credentials_of(one, "accounts", "999999999999", [])  # one account's facts, the run in another account


SCENARIO = st.lists(st.tuples(st.sampled_from(["ann", "ben", "cid", "dot", "eve"]), st.sets(st.sampled_from(REASONS), max_size=3)),
                    max_size=5, unique_by=lambda u: u[0])


@settings(max_examples=60, deadline=None)
@given(st.lists(SCENARIO, min_size=1, max_size=4))
def test_after_any_runs_the_hub_holds_exactly_the_last_runs_findings_active(runs):
    hub, seen = Hub(), set()
    for number, users in enumerate(runs):
        state = facts([user(name, sorted(reasons)) for name, reasons in users])
        before = hub.active()
        result = run(hub, state, now=NOW + timedelta(minutes=number))
        expected = {f.id for f in each_finding(state)}
        assert hub.active() == expected
        # A finding archived by an earlier run that holds again is created again: the same Id, active once more.
        assert set(result["created"]) == expected - before and set(result["updated"]) == expected & before
        assert set(result["archived"]) == before - expected
        seen |= expected
        assert set(hub.findings) == seen  # never twice, never lost


def test_many_accounts_side_by_side_each_into_its_own_hub():
    other = "111111111111"
    org = {"account_id": "2 accounts", "generated_at": NOW.isoformat(), "options": {},
           "users": [user("a", ["console_without_mfa"], account=other), user("b", ["unused_credentials"], account=ACCOUNT)],
           "accounts": [{"account_id": other, "status": "ok", "root": {"reasons": ["root_access_keys"]}},
                        {"account_id": ACCOUNT, "status": "ok", "root": {"reasons": []}}]}
    hubs = {other: Hub(other), ACCOUNT: Hub()}
    found = each_finding(org)
    result = keep_in_step(org, {k: [f for f in found if f.account_id == k] for k in hubs}, {k: Target(h, k, "aws") for k, h in hubs.items()},
                          "us-east-1", False, NOW, concurrency=2)
    assert hubs[other].active() == {finding_id(other, "console_without_mfa", "a"), finding_id(other, "root_access_keys")}
    assert hubs[ACCOUNT].active() == {finding_id(ACCOUNT, "unused_credentials", "b")}
    assert [(a["account_id"], a["created"]) for a in result["accounts"]] == [(other, 2), (ACCOUNT, 1)] and result["requests"] == 2
