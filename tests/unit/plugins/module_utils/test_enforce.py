# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.support.aws_like import outside_any_organization
from ansible_collections.awssec.mfa.plugins.module_utils.classify import Classification, ClassifyOptions
from ansible_collections.awssec.mfa.plugins.module_utils.enforce import (
    POLICY_TAG,
    TAG_ATTACHED_POLICY,
    TAG_CHANGED_AT,
    TAG_DELETED_CONSOLE,
    TAG_DISABLED_KEYS,
    TAG_ENFORCED_AT,
    TAG_PENDING,
    TAG_PROTECTS_KEYS,
    EnforceOptions,
    LiveState,
    answer,
    apply_user,
    plan_user,
    state_after,
    check_targets,
    ensure_policy,
    justification,
    plan_enforce,
    plan_protect_keys,
    plan_restore,
    protects_keys,
    record_tags,
    restore_notes,
    enforce_users,
    would_act,
)
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter, retrying
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError
from ansible_collections.awssec.mfa.plugins.module_utils.gather import gather
from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy
from ansible_collections.awssec.mfa.plugins.module_utils.records import user_name_from_arn
from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, MFADevice, UserRecord, access

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=timezone.utc)
ENFORCE = EnforceOptions()
RESTORE = EnforceOptions(state="restored")
RECORDED = {TAG_ENFORCED_AT: "2024-06-01T00:00:00+00:00", TAG_DISABLED_KEYS: "AKIA1 AKIA2", TAG_ATTACHED_POLICY: "true"}
# An enforcement that did not attach the policy (an administrator had), or was recorded by an earlier version.
RECORDED_KEYS_ONLY = {TAG_ENFORCED_AT: "2024-06-01T00:00:00+00:00", TAG_DISABLED_KEYS: "AKIA1"}


def state(mfa=False, keys=None, console=False, attached=False, tags=None):
    return LiveState(mfa_enabled=mfa, keys=keys or {}, console_access=console, policy_attached=attached, tags=tags or {})


@pytest.mark.parametrize("live, options, expected", [
    (state(mfa=True, keys={"AKIA1": "Active"}, console=True), EnforceOptions(disable_console_access=True), []),
    (state(keys={"AKIA2": "Active", "AKIA1": "Active"}), ENFORCE, ["disable_key:AKIA1", "disable_key:AKIA2", "attach_policy"]),
    (state(keys={"AKIA1": "Inactive", "AKIA2": "Active"}), ENFORCE, ["disable_key:AKIA2", "attach_policy"]),
    (state(console=True), ENFORCE, ["attach_policy"]),
    (state(console=True, attached=True), ENFORCE, []),
    (state(console=True, attached=True), EnforceOptions(disable_console_access=True), ["delete_login_profile"]),
    (state(keys={"AKIA1": "Active"}), EnforceOptions(disable_access_keys=False), ["attach_policy"]),
    (state(keys={"AKIA1": "Active"}, console=True), EnforceOptions(attach_policy=False), ["disable_key:AKIA1"]),
    (state(), ENFORCE, ["attach_policy"]),
])
def test_plan_enforce(live, options, expected):
    assert plan_enforce(live, options) == expected


@pytest.mark.parametrize("live, options, expected", [
    # Still without MFA: nothing is undone.
    (state(keys={"AKIA1": "Inactive"}, attached=True, tags=RECORDED), RESTORE, []),
    # Only the recorded keys that are inactive now; a key disabled by someone else stays as it is.
    (state(mfa=True, keys={"AKIA1": "Inactive", "AKIA2": "Active", "AKIA3": "Inactive"}, attached=True, tags=RECORDED), RESTORE,
     ["enable_key:AKIA1", "detach_policy", "remove_tags"]),
    (state(mfa=True, keys={"AKIA1": "Inactive"}, attached=True, tags=RECORDED), EnforceOptions(state="restored", attach_policy=False),
     ["enable_key:AKIA1", "remove_tags"]),
    (state(mfa=True, keys={"AKIA1": "Active"}), RESTORE, []),
    # A policy this tool did not record attaching stays attached.
    (state(mfa=True, keys={"AKIA1": "Inactive"}, attached=True, tags=RECORDED_KEYS_ONLY), RESTORE, ["enable_key:AKIA1", "remove_tags"]),
])
def test_plan_restore(live, options, expected):
    assert plan_restore(live, options) == expected


def test_restoring_says_what_it_leaves_as_it_is():
    assert restore_notes(state(mfa=True, attached=True, tags=RECORDED), RESTORE) == []
    kept = restore_notes(state(mfa=True, attached=True, tags=RECORDED_KEYS_ONLY), RESTORE)
    assert kept == ["the policy stays attached: this tool did not record attaching it (an administrator did, or an earlier version)"]
    deleted = restore_notes(state(mfa=True, tags=dict(RECORDED, **{TAG_DELETED_CONSOLE: "true"})), RESTORE)
    assert deleted == ["the console password deleted by enforcement cannot be restored: an administrator must set a new one"]
    assert restore_notes(state(mfa=False, attached=True, tags=RECORDED_KEYS_ONLY), RESTORE) == []  # not restored at all


def test_record_tags_merge_with_an_earlier_enforcement_and_keep_its_first_date():
    earlier = state(tags={TAG_ENFORCED_AT: "2024-06-01T00:00:00+00:00", TAG_CHANGED_AT: "2024-06-01T00:00:00+00:00", TAG_DISABLED_KEYS: "AKIA1"})
    assert record_tags(earlier, ["disable_key:AKIA2", "attach_policy"], NOW) == {
        TAG_ENFORCED_AT: "2024-06-01T00:00:00+00:00", TAG_CHANGED_AT: NOW.isoformat(), TAG_DISABLED_KEYS: "AKIA1 AKIA2", TAG_ATTACHED_POLICY: "true",
        TAG_PENDING: ""}
    assert record_tags(state(), ["attach_policy"], NOW) == {
        TAG_ENFORCED_AT: NOW.isoformat(), TAG_CHANGED_AT: NOW.isoformat(), TAG_DISABLED_KEYS: "", TAG_ATTACHED_POLICY: "true", TAG_PENDING: ""}
    # A policy attached by someone else is not recorded as ours; a later run keeps what an earlier one recorded.
    assert record_tags(state(attached=True), ["disable_key:AKIA1"], NOW) == {
        TAG_ENFORCED_AT: NOW.isoformat(), TAG_CHANGED_AT: NOW.isoformat(), TAG_DISABLED_KEYS: "AKIA1", TAG_PENDING: ""}
    assert record_tags(state(tags=RECORDED), ["delete_login_profile"], NOW) == dict(
        RECORDED, **{TAG_CHANGED_AT: NOW.isoformat(), TAG_DELETED_CONSOLE: "true", TAG_PENDING: ""})


def test_after_applies_the_actions():
    before = state(keys={"AKIA1": "Active"}, console=True)
    done = state_after(before, ["disable_key:AKIA1", "attach_policy", "delete_login_profile"], NOW)
    assert done.as_dict() == {
        "mfa_enabled": False, "access_keys": {"AKIA1": "Inactive"}, "console_access": False, "policy_attached": True,
        "tags": {TAG_ENFORCED_AT: NOW.isoformat(), TAG_CHANGED_AT: NOW.isoformat(), TAG_DISABLED_KEYS: "AKIA1", TAG_ATTACHED_POLICY: "true",
                 TAG_DELETED_CONSOLE: "true", TAG_PENDING: ""},
    }
    undone = state_after(state(mfa=True, keys={"AKIA1": "Inactive"}, attached=True, tags=dict(RECORDED, team="x")),
                         ["enable_key:AKIA1", "detach_policy", "remove_tags"], NOW)
    assert (undone.keys, undone.policy_attached, undone.tags) == ({"AKIA1": "Active"}, False, {"team": "x"})
    assert state_after(before, [], NOW) == before


def _user(keys=0, console=False, tags=None):
    return UserRecord("u", "arn:aws:iam::1:user/u", NOW - timedelta(days=100), console_access=console,
                      access_keys=[AccessKey("Active", NOW) for dummy in range(keys)], tags=tags or {})


@pytest.mark.parametrize("user, options, expected", [
    (_user(keys=1), ENFORCE, True),
    (_user(console=True), ENFORCE, True),
    (_user(console=True, tags=RECORDED), ENFORCE, False),  # already enforced, nothing left to do
    (_user(console=True, tags=RECORDED), EnforceOptions(disable_console_access=True), True),
    (_user(keys=1, tags=RECORDED), ENFORCE, True),
    (_user(console=True), EnforceOptions(attach_policy=False), False),
])
def test_would_act(user, options, expected):
    assert would_act(user, options) is expected


@pytest.mark.parametrize("arn, expected", [
    ("arn:aws:iam::123456789012:user/alice", "alice"),
    ("arn:aws:iam::123456789012:user/division/team/alice", "alice"),
    ("arn:aws:sts::123456789012:assumed-role/Admin/session", None),
    ("arn:aws:iam::123456789012:root", None),
    (None, None),
])
def test_caller_username(arn, expected):
    assert user_name_from_arn(arn) == expected


def test_justification_and_access():
    assert justification(["console_without_mfa", "unused_credentials"]) == "Console access without MFA"
    assert justification(["active_keys_without_mfa", "console_without_mfa"]) == "Console access and active access keys without MFA"
    assert (access(True, 2), access(True, 0), access(False, 1), access(False, 0)) == ("console+keys", "console", "keys", "none")


# --- AWS calls --------------------------------------------------------------------------------


def _stubbed_iam():
    """A retrying client (as enforce_users makes it: its calls pass ``aws_retry=True``), and the stubber of the client it wraps."""
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    return retrying(client), Stubber(client)


def _stub_reads(stub, keys):
    stub.add_response("list_mfa_devices", {"MFADevices": []})
    stub.add_response("list_access_keys", {"AccessKeyMetadata": [
        {"UserName": "bob", "AccessKeyId": key, "Status": "Active", "CreateDate": NOW} for key in keys]})
    stub.add_client_error("get_login_profile", "NoSuchEntity", http_status_code=404)
    stub.add_response("list_attached_user_policies", {"AttachedPolicies": []})
    stub.add_response("list_user_tags", {"Tags": []})


POLICY_ARN = "arn:aws:iam::123456789012:policy/RequireMFA"


def _act(iam, check_mode: bool) -> dict:
    """What enforce_users does for one target: read bob live and plan (plan_user), then, unless check mode, act (apply_user)."""
    state, entry = plan_user(iam, "bob", ENFORCE, POLICY_ARN, NOW)
    if not check_mode:
        apply_user(iam, "bob", state, entry, ENFORCE, POLICY_ARN)
    return entry


def test_throttling_is_retried_with_jittered_backoff(monkeypatch):
    slept = []
    monkeypatch.setattr("time.sleep", slept.append)  # AWSRetry.jittered_backoff sleeps through time.sleep
    iam, stub = _stubbed_iam()
    _stub_reads(stub, ["AKIAEXAMPLE000000001"])
    stub.add_response("tag_user", {})
    stub.add_client_error("update_access_key", "Throttling", http_status_code=400)
    stub.add_client_error("update_access_key", "Throttling", http_status_code=400)
    stub.add_response("update_access_key", {}, {"UserName": "bob", "AccessKeyId": "AKIAEXAMPLE000000001", "Status": "Inactive"})
    stub.add_response("attach_user_policy", {}, {"UserName": "bob", "PolicyArn": POLICY_ARN})
    stub.add_response("tag_user", {})
    with stub:
        entry = _act(iam, check_mode=False)
        stub.assert_no_pending_responses()
    assert entry["done"] == ["disable_key:AKIAEXAMPLE000000001", "attach_policy"]
    assert len(slept) == 2 and all(0 <= s <= 60 for s in slept)


def test_the_record_is_dated_when_it_is_written_not_when_the_run_began():
    """The credential report a run reads is generated after the run began: a record dated by the run's start would look
    older than that report, which the next run (getting the same cached report) would then believe."""
    iam, stub = _stubbed_iam()
    written = []
    iam.meta.events.register("provide-client-params.iam.TagUser", lambda params, **kwargs: written.append(params))
    _stub_reads(stub, ["AKIAEXAMPLE000000001"])
    stub.add_response("tag_user", {})
    stub.add_response("update_access_key", {})
    stub.add_response("attach_user_policy", {})
    stub.add_response("tag_user", {})
    before = datetime.now(timezone.utc)
    with stub:
        _act(iam, check_mode=False)
    tags = {t["Key"]: t["Value"] for t in written[0]["Tags"]}
    assert tags[TAG_ENFORCED_AT] == tags[TAG_CHANGED_AT] and datetime.fromisoformat(tags[TAG_CHANGED_AT]) >= before
    # Written down as pending before acting, recorded as done after.
    assert tags[TAG_PENDING] == "disable_key:AKIAEXAMPLE000000001 attach_policy" and TAG_DISABLED_KEYS in tags and TAG_ATTACHED_POLICY not in tags
    final = {t["Key"]: t["Value"] for t in written[1]["Tags"]}
    assert final[TAG_PENDING] == "" and final[TAG_DISABLED_KEYS] == "AKIAEXAMPLE000000001" and final[TAG_ATTACHED_POLICY] == "true"


def test_a_failure_keeps_what_was_done_and_names_the_call():
    iam, stub = _stubbed_iam()
    _stub_reads(stub, ["AKIAEXAMPLE000000001"])
    stub.add_response("tag_user", {})
    stub.add_response("update_access_key", {})
    stub.add_client_error("attach_user_policy", "AccessDenied", http_status_code=403)
    stub.add_response("tag_user", {})
    written = []
    iam.meta.events.register("provide-client-params.iam.TagUser", lambda params, **kwargs: written.append(params))
    entry = {}
    with stub, pytest.raises(AWSError) as caught:
        state, entry = plan_user(iam, "bob", ENFORCE, POLICY_ARN, NOW)
        apply_user(iam, "bob", state, entry, ENFORCE, POLICY_ARN)
    assert entry["done"] == ["disable_key:AKIAEXAMPLE000000001"]
    assert "attach" in caught.value.message and "bob" in caught.value.message
    # The record says what was done: the key, not the policy that was never attached.
    final = {t["Key"]: t["Value"] for t in written[-1]["Tags"]}
    assert final[TAG_DISABLED_KEYS] == "AKIAEXAMPLE000000001" and TAG_ATTACHED_POLICY not in final and final[TAG_PENDING] == ""


def test_a_failed_action_then_restore_undoes_nothing_of_the_administrators():
    """A second key's UpdateAccessKey failed: the record lists the first key only and no policy. An administrator then
    disabled the second key and attached the policy; the user set up MFA. Restoring re-enables the first key alone."""
    recorded = record_tags(state(keys={"AKIA1": "Active", "AKIA2": "Active"}), ["disable_key:AKIA1"], NOW)
    later = state(mfa=True, keys={"AKIA1": "Inactive", "AKIA2": "Inactive"}, attached=True, tags=recorded)
    assert plan_restore(later, RESTORE) == ["enable_key:AKIA1", "remove_tags"]
    assert restore_notes(later, RESTORE) == [
        "the policy stays attached: this tool did not record attaching it (an administrator did, or an earlier version)"]


def test_an_interrupted_run_leaves_its_pending_actions_undone_by_restore():
    pending = dict(RECORDED_KEYS_ONLY, **{TAG_PENDING: "disable_key:AKIA2 attach_policy"})  # AKIA1 from an earlier run
    later = state(mfa=True, keys={"AKIA1": "Inactive", "AKIA2": "Inactive"}, attached=True, tags=pending)
    assert plan_restore(later, RESTORE) == ["enable_key:AKIA1"]  # the record stays, as the trace of the interrupted run
    assert any("stopped before confirming disable_key:AKIA2 attach_policy" in note for note in restore_notes(later, RESTORE))


def test_check_mode_only_reads():
    iam, stub = _stubbed_iam()
    _stub_reads(stub, ["AKIAEXAMPLE000000001"])
    with stub:
        entry = _act(iam, check_mode=True)
        stub.assert_no_pending_responses()
    assert entry["actions"] == ["disable_key:AKIAEXAMPLE000000001", "attach_policy"] and entry["done"] == []


@pytest.fixture
def aws():
    with mock_aws():
        kw = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        # The functions of enforce.py below enforce_users get the IAM client it makes (clients.retrying); STS stays raw, as callers give it.
        yield retrying(outside_any_organization(boto3.client("iam", **kw))), boto3.client("sts", **kw)


def _document(iam, arn):
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]


def test_ensure_policy_creates_then_keeps_then_updates(aws):
    iam = aws[0]
    document = mfa_policy()
    assert ensure_policy(iam, POLICY_ARN, document, check_mode=True)["change"] == "create"
    assert iam.list_policies(Scope="Local")["Policies"] == []
    created = ensure_policy(iam, POLICY_ARN, document, check_mode=False)
    assert created == {"arn": POLICY_ARN, "change": "create"}
    assert _document(iam, POLICY_ARN) == document
    assert ensure_policy(iam, POLICY_ARN, document, check_mode=False)["change"] == "none"

    # Changed options: a new default version, and IAM's limit of five versions is respected.
    for extra in ("iam:GetAccountSummary", "iam:ListGroups", "iam:ListRoles", "iam:ListPolicies", "iam:ListUsers"):
        changed = mfa_policy(allow_without_mfa=[extra])
        assert ensure_policy(iam, POLICY_ARN, changed, check_mode=True)["change"] == "update"
        assert ensure_policy(iam, POLICY_ARN, changed, check_mode=False)["change"] == "update"
        assert _document(iam, POLICY_ARN) == changed
    assert len(iam.list_policy_versions(PolicyArn=POLICY_ARN)["Versions"]) == 5
    assert iam.get_policy(PolicyArn=POLICY_ARN)["Policy"]["Tags"] == [{"Key": POLICY_TAG, "Value": "true"}]


class _CreatedMeanwhile:
    """An IAM client in a race: the policy is created by another run between this one's read and its create."""

    def __init__(self, iam, document):
        self.iam, self.document = iam, document

    def __getattr__(self, name):
        return getattr(self.iam, name)

    def get_policy(self, **kwargs):
        try:
            return self.iam.get_policy(**kwargs)
        finally:
            if not self.iam.list_policies(Scope="Local")["Policies"]:
                self.iam.create_policy(PolicyName="RequireMFA", PolicyDocument=json.dumps(self.document), Tags=[{"Key": POLICY_TAG, "Value": "true"}])


def test_ensure_policy_created_meanwhile_by_another_run_is_read_not_a_failure(aws):
    iam = aws[0]
    assert ensure_policy(_CreatedMeanwhile(iam, mfa_policy()), POLICY_ARN, mfa_policy(), check_mode=False) == {"arn": POLICY_ARN, "change": "none"}
    changed = mfa_policy(allow_without_mfa=["iam:ListUsers"])
    assert ensure_policy(_CreatedMeanwhile(iam, mfa_policy()), POLICY_ARN, changed, check_mode=False)["change"] == "update"
    assert len(iam.list_policies(Scope="Local")["Policies"]) == 1


def test_ensure_policy_never_changes_a_policy_that_is_not_ours(aws):
    iam = aws[0]
    theirs = mfa_policy(allow_without_mfa=["iam:ListUsers"])
    iam.create_policy(PolicyName="RequireMFA", PolicyDocument=json.dumps(theirs))
    assert ensure_policy(iam, POLICY_ARN, theirs, check_mode=False)["change"] == "none"  # the same document: used as it is
    for check_mode in (True, False):
        with pytest.raises(AWSError, match=f"{POLICY_ARN} exists with another document and is not this collection's"):
            ensure_policy(iam, POLICY_ARN, mfa_policy(), check_mode=check_mode)
    assert _document(iam, POLICY_ARN) == theirs and len(iam.list_policy_versions(PolicyArn=POLICY_ARN)["Versions"]) == 1


@pytest.mark.parametrize("concurrency", [1, 4])  # the targets read live one by one, or four at once: the same outcome
def test_run_skips_the_caller_and_counts_against_max_affected(aws, concurrency):
    iam, sts = aws
    for name in ("alice", "bob", "carol"):
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
    gathered = gather(iam, sts, "live", ClassifyOptions(grace_period_days=0), sleep=lambda s: None)
    gathered.caller_arn = "arn:aws:iam::123456789012:user/bob"
    now = datetime.now(timezone.utc)

    too_many = enforce_users(iam, gathered, ClassifyOptions(grace_period_days=0), EnforceOptions(max_affected=1, concurrency=concurrency), mfa_policy(),
                             False, now)
    assert too_many["too_many"] == ["alice", "carol"] and too_many["actions"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []

    done = enforce_users(iam, gathered, ClassifyOptions(grace_period_days=0), EnforceOptions(max_affected=2, concurrency=concurrency), mfa_policy(), False, now)
    results = {e["username"]: (e["result"], e.get("reason")) for e in done["actions"]}
    assert results == {"alice": ("done", None), "bob": ("skipped", "caller_identity"), "carol": ("done", None)}
    assert iam.list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"] == "Active"
    assert iam.list_access_keys(UserName="alice")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert done["summary"]["keys_disabled"] == 2 and done["summary"]["policies_attached"] == 2 and done["changed"]
    json.dumps(done)  # plain data, as a module result must be


def test_a_failed_user_says_why_aws_refused(aws):
    """A user's failure carries AWS's message, not its code alone: "AccessDenied" did not say that a service control
    policy denies it, which is where an administrator must look."""
    from botocore.awsrequest import AWSResponse  # pylint: disable=import-outside-toplevel

    iam, sts = aws
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    gathered = gather(iam, sts, "live", ClassifyOptions(grace_period_days=0))
    denial = "User: arn:aws:iam::123456789012:user/moto is not authorized to perform: iam:UpdateAccessKey with an explicit deny in a service control policy"

    def deny(**kwargs):  # pylint: disable=unused-argument
        error = {"Code": "AccessDenied", "Message": denial}
        return AWSResponse("https://iam.amazonaws.com/", 403, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    iam.meta.events.register("before-call.iam.UpdateAccessKey", deny)
    result = enforce_users(iam, gathered, ClassifyOptions(grace_period_days=0), EnforceOptions(attach_policy=False), mfa_policy(), False,
                           datetime.now(timezone.utc))
    [entry] = result["actions"]
    assert entry["result"] == "failed"
    assert entry["error"] == f"Failed to disable access key {key} of alice: AccessDenied: {denial}"


def test_max_affected_counts_the_live_plans_before_any_change(aws):
    """Gathered, the three were enforced with nothing left to do; since, their keys were re-activated by hand."""
    iam, sts = aws
    for name in ("alice", "bob", "carol"):
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Pass-word-1!")  # still non-compliant once enforced
        iam.create_access_key(UserName=name)
    now = datetime.now(timezone.utc)
    gathered = gather(iam, sts, "live", ClassifyOptions(grace_period_days=0), sleep=lambda s: None)
    enforce_users(iam, gathered, ClassifyOptions(grace_period_days=0), EnforceOptions(max_affected=3), mfa_policy(), False, now)
    gathered = gather(iam, sts, "live", ClassifyOptions(grace_period_days=0), sleep=lambda s: None)  # all enforced, nothing to do
    for name in ("alice", "bob", "carol"):
        key = iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["AccessKeyId"]
        iam.update_access_key(UserName=name, AccessKeyId=key, Status="Active")
    counter = CallCounter()
    counter.watch(iam)
    stopped = enforce_users(iam, gathered, ClassifyOptions(grace_period_days=0), EnforceOptions(max_affected=1), mfa_policy(), False, now)
    assert stopped["too_many"] == ["alice", "bob"] and stopped["too_many_read_live"] and stopped["actions"] == []
    assert counter.count == 2 * 5  # carol was not even read
    assert all(k["Status"] == "Active" for n in ("alice", "bob", "carol") for k in iam.list_access_keys(UserName=n)["AccessKeyMetadata"])


def test_a_preview_over_max_affected_shows_the_whole_plan_and_says_applying_would_be_refused(aws):
    """Check mode changes nothing: it plans every target, and the answer warns (not fails) with the limit to raise."""
    iam, sts = aws
    for name in ("alice", "bob", "carol"):
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
    now = datetime.now(timezone.utc)
    gathered = gather(iam, sts, "live", ClassifyOptions(grace_period_days=0), sleep=lambda s: None)
    preview = enforce_users(iam, gathered, ClassifyOptions(grace_period_days=0), EnforceOptions(max_affected=1), mfa_policy(), True, now)
    assert [(e["username"], e["result"]) for e in preview["actions"]] == [("alice", "planned"), ("bob", "planned"), ("carol", "planned")]
    assert preview["over_max_affected"] == ["alice", "bob", "carol"] and "too_many" not in preview
    result, failure, warnings = answer(preview, [], 1, diff=True)
    assert failure is None and result["over_max_affected"] == ["alice", "bob", "carol"] and set(result["diff"]["before"]) == {"alice", "bob", "carol"}
    assert warnings == ["Applying this plan would be refused: 3 users would be acted on, more than max_affected=1. To apply it, raise the "
                        "limit to at least 3 (max_affected, the role's mfa_enforce_max_affected, awssec's --max-affected), or narrow the "
                        "users (exclude_users, include_users)."]
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert all(k["Status"] == "Active" for n in ("alice", "bob", "carol") for k in iam.list_access_keys(UserName=n)["AccessKeyMetadata"])
    within = enforce_users(iam, gathered, ClassifyOptions(grace_period_days=0), EnforceOptions(max_affected=3), mfa_policy(), True, now)
    assert "over_max_affected" not in within and answer(within, [], 3, diff=False)[2] == []


# --- targets keys_not_mfa_protected: the policy makes the keys of users with MFA need MFA -------------------------------

BOTH = EnforceOptions(targets=("non-compliant", "keys_not_mfa_protected"))


@pytest.mark.parametrize("targets, attach, problems", [
    (("non-compliant",), True, []),
    (("non-compliant", "keys_not_mfa_protected"), True, []),
    ((), True, ["targets must name at least one of non-compliant, keys_not_mfa_protected"]),
    (("everyone",), True, ["targets must be among non-compliant, keys_not_mfa_protected, not 'everyone'"]),
    (("keys_not_mfa_protected",), False, ["targets keys_not_mfa_protected attaches the policy: it needs attach_policy=true"]),
])
def test_check_targets(targets, attach, problems):
    assert check_targets(targets, attach) == problems


def _with_mfa(reasons, status="compliant"):
    user = UserRecord("cleo", "arn:aws:iam::123456789012:user/cleo", NOW, access_keys=[AccessKey("Active", NOW)], mfa_devices=[MFADevice(None, "virtual")])
    return user, Classification(status=status, risk="low", reasons=reasons, days_since_creation=100)


@pytest.mark.parametrize("reasons, status, options, expected", [
    (["keys_not_mfa_protected"], "compliant", BOTH, True),
    (["keys_not_mfa_protected"], "compliant", ENFORCE, False),  # not asked for
    (["keys_not_mfa_protected"], "non-compliant", ENFORCE, True),  # non-compliant for it (require_mfa_policy_for_keys)
    (["keys_not_mfa_protected"], "non-compliant", EnforceOptions(targets=("keys_not_mfa_protected",)), True),
    ([], "compliant", BOTH, False),
])
def test_which_users_with_mfa_get_their_keys_protected(reasons, status, options, expected):
    assert protects_keys(*_with_mfa(reasons, status), options) is expected


@pytest.mark.parametrize("live, expected", [
    (state(mfa=True, keys={"AKIA1": "Active"}), ["protect_keys"]),
    (state(mfa=True, keys={"AKIA1": "Active"}, attached=True), []),  # attached since the report
    (state(mfa=True, keys={"AKIA1": "Inactive"}), []),  # no active key left to protect
])
def test_protecting_keys_only_attaches_the_policy(live, expected):
    assert plan_protect_keys(live, BOTH) == expected


def test_protecting_keys_is_recorded_and_kept_by_a_default_restore():
    live = state(mfa=True, keys={"AKIA1": "Active"})
    done = state_after(live, ["protect_keys"], NOW)
    assert done.policy_attached and done.keys == {"AKIA1": "Active"}
    assert done.tags == {TAG_ENFORCED_AT: NOW.isoformat(), TAG_CHANGED_AT: NOW.isoformat(), TAG_DISABLED_KEYS: "", TAG_ATTACHED_POLICY: "true",
                         TAG_PROTECTS_KEYS: "true", TAG_PENDING: ""}
    assert record_tags(live, ["protect_keys"], NOW) == done.tags
    assert plan_restore(done, RESTORE) == []
    assert restore_notes(done, RESTORE) == ["the policy stays attached: it makes this user's access keys need MFA (restore with targets "
                                            "keys_not_mfa_protected to detach it)"]
    assert plan_restore(done, EnforceOptions(state="restored", targets=BOTH.targets)) == ["detach_policy", "remove_tags"]


def test_when_the_record_cannot_be_written_after_a_failed_action_the_actions_failure_is_reported():
    iam, stub = _stubbed_iam()
    _stub_reads(stub, ["AKIAEXAMPLE000000001"])
    stub.add_response("tag_user", {})
    stub.add_client_error("update_access_key", "AccessDenied", http_status_code=403)
    stub.add_client_error("tag_user", "AccessDenied", http_status_code=403)
    with stub, pytest.raises(AWSError) as caught:
        _act(iam, check_mode=False)
        stub.assert_no_pending_responses()
    assert caught.value.message == "Failed to disable access key AKIAEXAMPLE000000001 of bob"  # the pending record stays
