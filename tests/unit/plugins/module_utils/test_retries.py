# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Retries that are honest: throttling is retried everywhere, LimitExceeded only where it is temporary, a code never.

One retry style (issue 35 item 2): a single call is made with ``aws_retry=True`` on a client that clients.retrying
wrapped; the entry points (gather, enforce_account, enforce_users) wrap the raw boto3 clients they are given. The calls
go to an in-process moto server whose hooks answer AWS errors; the server counts the requests that reached it, retries
included. Backoff sleeps are skipped (amazon.aws's AWSRetry and botocore sleep through ``time.sleep``).
"""

import collections
from datetime import datetime, timezone

import boto3
import pytest
from botocore import xform_name

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

from ansible_collections.awssec.mfa.plugins.module_utils import clients, credential_report, enforce, errors, live, rotate
from ansible_collections.awssec.mfa.plugins.module_utils import cloudtrail as cloudtrail_mod
from tests.support.moto_server import CREDENTIALS, MotoServer, reset_moto

KEYS = {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
NOW = datetime.now(timezone.utc)
BOTOCORE_ATTEMPTS = 5  # botocore's default (legacy) mode tries five times before the caller sees a throttling error


@pytest.fixture(scope="module")
def server():
    with MotoServer() as running:
        yield running


@pytest.fixture
def aws(server, monkeypatch):
    from ansible_collections.amazon.aws.plugins.module_utils import cloud

    monkeypatch.setattr(cloud.time, "sleep", lambda seconds: None)
    reset_moto()
    server.clear_hooks()
    iam = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1", **KEYS)
    iam.create_user(UserName="alice")
    iam.create_policy(PolicyName="RequireMFA", PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}')
    server.reset_counts()
    yield server, iam
    server.clear_hooks()


def answer_first(times, code, status=400):
    """A hook that answers ``code`` to the first ``times`` requests of an action, then lets them through."""
    seen = collections.Counter()

    def hook(params):
        seen["n"] += 1
        return (status, code, f"{code} (injected)") if seen["n"] <= times else None
    return hook


def test_limit_exceeded_on_a_change_fails_at_once(aws):
    """AttachUserPolicy at a user's quota of ten policies is final: it was retried about ten times, with waits up to 60 s."""
    server, iam = aws
    server.before("AttachUserPolicy", answer_first(100, "LimitExceeded", 409))
    arn = "arn:aws:iam::123456789012:policy/RequireMFA"
    with pytest.raises(errors.AWSError) as raised:
        enforce.call_action(clients.retrying(iam), "alice", "attach_policy", arn)  # the client enforce_users acts with
    assert errors.error_code(raised.value.exception) == "LimitExceeded"
    assert server.actions["AttachUserPolicy"] == 1


@pytest.mark.parametrize("given", [lambda iam: iam, clients.retrying], ids=["raw", "retrying"])
def test_limit_exceeded_on_generating_the_credential_report_is_waited_out(aws, given):
    """Whatever client it is given: gather gives a retrying one, whose retries (clients.RETRY) leave LimitExceeded alone."""
    server, iam = aws
    server.before("GenerateCredentialReport", answer_first(2, "LimitExceeded", 409))
    content, dummy = credential_report.fetch_credential_report(given(iam), sleep=lambda seconds: None)
    assert "alice" in content
    assert server.actions["GenerateCredentialReport"] >= 3


def test_throttling_longer_than_botocore_waits_is_retried_on_reads_and_changes(aws):
    server, iam = aws
    throttled = BOTOCORE_ATTEMPTS + 1
    server.before("GetUser", answer_first(throttled, "Throttling"))
    server.before("AttachUserPolicy", answer_first(throttled, "Throttling"))
    retrying = clients.retrying(iam)  # as gather and enforce_users wrap the clients they are given
    assert live.read_names(retrying, ["alice"], [], 1)["alice"].username == "alice"
    enforce.call_action(retrying, "alice", "attach_policy", "arn:aws:iam::123456789012:policy/RequireMFA")
    assert server.actions["GetUser"] == server.actions["AttachUserPolicy"] == throttled + 1
    assert [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]] == ["RequireMFA"]


def test_rotation_changes_and_workstation_reads_are_retried_on_throttling(aws):
    server, iam = aws
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    session = clients.Sessions(server.url)(key["AccessKeyId"], key["SecretAccessKey"], None, "us-east-1")
    server.reset_counts()
    throttled = BOTOCORE_ATTEMPTS + 1
    for action in ("ListAccessKeys", "CreateAccessKey", "UpdateAccessKey"):
        server.before(action, answer_first(throttled, "Throttling"))
    workstation_iam = session.client("iam")
    keys = workstation_iam.list_access_keys(UserName="alice", aws_retry=True)["AccessKeyMetadata"]
    hooks = rotate.Hooks(verify=lambda key_id, secret: None, sleep=lambda seconds: None)
    result = rotate.rotate(workstation_iam, "alice", key["AccessKeyId"], keys, [], rotate.RotateOptions(force=True), hooks, NOW, False)
    assert result["rotated"] is True, result
    assert {a: server.actions[a] for a in ("ListAccessKeys", "CreateAccessKey", "UpdateAccessKey")} == dict.fromkeys(
        ("ListAccessKeys", "CreateAccessKey", "UpdateAccessKey"), throttled + 1)


def test_get_session_token_is_sent_once_even_on_a_retryable_error(aws):
    """AWS accepts an MFA code once: a 500 (retried by botocore, by AWSRetry) must not send the code again."""
    server, iam = aws
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    server.before("GetSessionToken", answer_first(100, "InternalError", 500))
    sts = clients.Sessions(server.url)(key["AccessKeyId"], key["SecretAccessKey"], None, "us-east-1").client("sts", once=True)
    with pytest.raises(Exception, match="InternalError"):
        sts.get_session_token(SerialNumber="arn:aws:iam::123456789012:mfa/alice", TokenCode="123456")
    assert server.actions["GetSessionToken"] == 1


def test_cloudtrail_throttling_exception_is_retried(monkeypatch):
    """CloudTrail says ThrottlingException (not Throttling, the code AWSRetry knew): LookupEvents, paced at 2 a second,
    was not retried when CloudTrail asked to slow down. botocore's own retries are off here, so only ours count."""
    from botocore.config import Config
    from botocore.stub import Stubber

    from ansible_collections.amazon.aws.plugins.module_utils import cloud

    monkeypatch.setattr(cloud.time, "sleep", lambda seconds: None)
    cloudtrail = boto3.client("cloudtrail", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}), **KEYS)
    with Stubber(cloudtrail) as stub:
        for dummy in range(2):
            stub.add_client_error("lookup_events", service_error_code="ThrottlingException", service_message="Rate exceeded", http_status_code=400)
        stub.add_response("lookup_events", {"Events": []})
        evidence, by_user = cloudtrail_mod.console_evidence(clients.retrying(cloudtrail), 7, NOW, sleep=lambda seconds: None)
        stub.assert_no_pending_responses()
    assert (evidence.events, evidence.calls, by_user) == (0, 1, {})


def _enforce_params(source):
    # RequireMFA, made by the fixture with another document and without the collection's tag, is someone else's.
    return enforce.spec_defaults(enforce.ENFORCE_ARGSPEC, source=source, grace_period_days=0, policy_name="RequireMFAEnforced")


def test_raw_clients_given_to_enforcement_are_retried_on_throttling(aws):
    """enforce_account (what iam_mfa_enforce, the command line and the Python API call) and the gather it runs wrap the
    raw boto3 clients they are given: a read and a change, on IAM and STS, each throttled longer than botocore waits."""
    server, iam = aws
    iam.create_access_key(UserName="alice")
    sts = boto3.client("sts", endpoint_url=server.url, region_name="us-east-1", **KEYS)
    throttled = BOTOCORE_ATTEMPTS + 1
    once = ("GetCallerIdentity", "GetAccountSummary", "CreatePolicy", "UpdateAccessKey", "AttachUserPolicy")  # each sent once a run
    for action in once:
        server.before(action, answer_first(throttled, "Throttling"))
    result, failure, dummy = enforce.enforce_account(iam, sts, _enforce_params("live"), False, False, datetime.now(timezone.utc))
    assert failure is None and [(e["username"], e["result"]) for e in result["actions"]] == [("alice", "done")]
    assert {action: server.actions[action] for action in once} == dict.fromkeys(once, throttled + 1)
    assert [k["Status"] for k in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]] == ["Inactive"]


@pytest.mark.parametrize("source", ["live", "credential_report"])
def test_every_single_call_goes_through_its_clients_retry(aws, monkeypatch, source):
    """One retry style: every AWS call that reading and enforcing make is made with ``aws_retry=True`` on a retrying
    client (GenerateCredentialReport on its own, which waits out LimitExceeded too); only the pages of a paginated read
    are not, calls.paginate retrying the whole read."""
    server, raw_iam = aws
    raw_iam.create_access_key(UserName="alice")
    raw_sts = boto3.client("sts", endpoint_url=server.url, region_name="us-east-1", **KEYS)
    sent, retried = set(), set()

    def recording(retry):
        def decorate(function):
            retrying = retry(function)

            def call(*args, **kwargs):
                retried.add(function.__name__)
                return retrying(*args, **kwargs)
            return call
        return decorate

    def recorded(client):
        client.meta.events.register("before-call", lambda model, **kwargs: sent.add((client, xform_name(model.name))))
        return RetryingBotoClientWrapper(client, recording(clients.RETRY))

    monkeypatch.setattr(credential_report, "REPORT_RETRY", recording(credential_report.REPORT_RETRY))
    result, failure, dummy = enforce.enforce_account(recorded(raw_iam), recorded(raw_sts), _enforce_params(source), False, False,
                                                     datetime.now(timezone.utc))
    assert failure is None and [(e["username"], e["result"]) for e in result["actions"]] == [("alice", "done")]
    single = {name for client, name in sent if not client.can_paginate(name)}
    assert {"get_caller_identity", "get_account_summary", "get_policy", "create_policy", "tag_user", "update_access_key", "attach_user_policy"} <= single
    assert source == "live" or {"generate_credential_report", "get_credential_report"} <= single
    assert single - retried == set()
