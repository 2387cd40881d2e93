# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MFA guard's verdict on one IAM change (module_utils/guard.py and the mfa_guard_verdict filter), and its record."""

import fcntl
import json
import multiprocessing
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.awssec.mfa.plugins.filter.mfa_report import FilterModule, mfa_guard_verdict
from ansible_collections.awssec.mfa.plugins.module_utils.guard import (
    Breaker,
    append_finding,
    breaker_claim,
    breaker_reset,
    claim,
    concerned_users,
    exclusive,
    findings,
    kept_messages,
    needs_reading,
    open_own,
    queue_location,
    verdict,
    verdicts,
)


ACCOUNT = "123456789012"


def change(action="CreateLoginProfile", user="bob", **more):
    return dict({"action": action, "user": user, "account_id": ACCOUNT, "partition": "aws", "time": "2026-12-01T10:00:00Z", "event_id": "e1",
                 "caller": "arn:aws:iam::1:user/admin", "status": None, "serial": None}, **more)


def record(status, reasons=(), **more):
    return dict({"username": "bob", "status": status, "reasons": list(reasons), "grace_days_remaining": None, "exemption": None}, **more)


def facts(*users, account=ACCOUNT, partition="aws", include=()):
    """The iam_mfa facts of a live re-read in ``account`` of ``partition``."""
    return {"users": list(users), "account_id": account, "partition": partition, "options": {"include_users": list(include)}}


def test_a_user_left_without_mfa_is_acted_on_with_the_reasons():
    found = verdict(change(), facts(record("non-compliant", ["console_without_mfa"])))
    assert found["act"] is True and found["status"] == "non-compliant" and found["reasons"] == ["console_without_mfa"]
    assert found["why"] == "without MFA: console_without_mfa"
    assert (found["user"], found["action"], found["event_id"], found["caller"]) == ("bob", "CreateLoginProfile", "e1", "arn:aws:iam::1:user/admin")


@pytest.mark.parametrize("user_record, why", [
    (record("grace-period", ["console_without_mfa"], grace_days_remaining=5), "left alone: in the grace period, 5 day(s) left"),
    (record("exempted", exemption={"reason": "break-glass", "until": "2099-12-31"}), "left alone: exempted (break-glass until 2099-12-31)"),
    (record("exempted", exemption={"reason": "svc", "until": None}), "left alone: exempted (svc)"),
    (record("compliant"), "left alone: compliant"),
])
def test_a_user_in_grace_exempted_or_compliant_is_left_alone_and_why_is_said(user_record, why):
    found = verdict(change(), facts(user_record))
    assert found["act"] is False and found["why"] == why and found["status"] == user_record["status"]


def test_changes_that_need_no_reading_are_left_alone_without_a_read():
    assert not needs_reading(change("DeleteVirtualMFADevice", None, serial="arn:aws:iam::1:mfa/x"))
    assert not needs_reading(change("UpdateAccessKey", status="Inactive"))
    assert needs_reading(change("UpdateAccessKey", status="Active")) and needs_reading(change("CreateUser"))
    assert "names no user" in verdict(change("DeleteVirtualMFADevice", None), None)["why"]
    assert verdict(change("UpdateAccessKey", status="Inactive"), facts(record("non-compliant", ["active_keys_without_mfa"])))["act"] is False


def test_a_user_deleted_since_is_left_alone():
    found = verdict(change(), facts())
    assert found["act"] is False and found["why"] == "the user no longer exists" and found["status"] is None


def test_a_user_the_operators_include_users_leaves_out_is_left_alone():
    assert verdict(change(), facts(include=["dev-*"]))["why"] == "left alone: not among include_users"


@pytest.mark.parametrize("account, partition", [("999999999999", "aws"), (ACCOUNT, "aws-cn"), ("999999999999", "aws-us-gov")])
def test_a_change_of_another_account_or_partition_is_never_acted_on(account, partition):
    """The same-named user of the guard's own account is non-compliant: the change is still not this guard's."""
    found = verdict(change(account_id=account, partition=partition), facts(record("non-compliant", ["console_without_mfa"])))
    assert found["act"] is False and found["status"] is None
    assert found["why"] == (f"not this guard's account: the change was made in account {account} ({partition}); "
                            f"this guard reads and acts in {ACCOUNT} (aws)")


def test_the_filter_is_registered_and_reads_the_facts_users():
    assert FilterModule().filters()["mfa_guard_verdict"] is mfa_guard_verdict
    assert mfa_guard_verdict(change(), facts(record("non-compliant", ["console_without_mfa"])))["act"] is True
    assert mfa_guard_verdict(change("DeleteVirtualMFADevice", None), None)["act"] is False


@pytest.mark.parametrize("given, facts, message", [
    ({"user": "bob"}, None, "expects the iam_change of an awssec.mfa.iam_changes event"),
    ("CreateUser", None, "expects the iam_change"),
    (change(), {"summary": {}}, "facts must be the iam_mfa facts"),
    (change(), {"users": []}, "with users, account_id, partition and options"),
])
def test_the_filter_names_what_is_wrong(given, facts, message):
    with pytest.raises(AnsibleFilterError, match=message):
        mfa_guard_verdict(given, facts)


@pytest.mark.parametrize("url, location", [
    ("https://sqs.us-east-1.amazonaws.com/123456789012/iam-changes", ("us-east-1", None)),
    ("https://sqs.us-gov-west-1.amazonaws.com/123456789012/q", ("us-gov-west-1", None)),
    ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", ("cn-north-1", None)),
    ("http://127.0.0.1:5123/123456789012/iam-changes", (None, "http://127.0.0.1:5123")),
    ("https://sqs.us-east-1.amazonaws.com.evil.example/123/q", (None, "https://sqs.us-east-1.amazonaws.com.evil.example")),
])
def test_a_queue_url_names_its_region_or_its_endpoint(url, location):
    assert queue_location(url) == location


def _append_many(path, writer, count):
    for number in range(count):
        append_finding(path, {"writer": writer, "number": number, "why": "x" * 3000})  # longer than a pipe's atomic 512 bytes


def test_findings_appended_at_once_by_several_processes_are_all_there_whole(tmp_path):
    path = str(tmp_path / "guard" / "findings.jsonl")
    append_finding(path, {"user": "bob", "act": True})
    writers = [multiprocessing.Process(target=_append_many, args=(path, writer, 200)) for writer in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    lines = [json.loads(line) for line in open(path).read().splitlines()]
    assert lines[0] == {"user": "bob", "act": True}
    assert sorted((line["writer"], line["number"]) for line in lines[1:]) == [(w, n) for w in range(4) for n in range(200)]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_a_findings_file_that_is_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("precious\n")
    link = tmp_path / "guard" / "findings.jsonl"
    link.parent.mkdir()
    link.symlink_to(target)
    waits = []
    with pytest.raises(OSError, match="symbolic link: refused"):
        append_finding(str(link), {"user": "bob"}, sleep=waits.append)
    assert target.read_text() == "precious\n" and waits == [1.0]  # tried once more, a second later


def test_a_findings_path_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "findings.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="No such device or address"):  # a FIFO nobody reads: refused at once, no waiting for a reader
        append_finding(str(fifo), {"user": "bob"}, sleep=lambda seconds: None)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(OSError, match="not a regular file"):
            append_finding(str(fifo), {"user": "bob"}, sleep=lambda seconds: None)
    finally:
        os.close(reader)


def test_a_findings_file_of_another_user_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "findings.jsonl"
    path.write_text("")
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(path).st_uid + 1)
    with pytest.raises(OSError, match="belongs to another user"):
        open_own(str(path), os.O_WRONLY | os.O_APPEND)


def test_a_write_that_fails_once_is_tried_again_and_then_succeeds(tmp_path, monkeypatch):
    path = str(tmp_path / "findings.jsonl")
    real, calls = os.write, []

    def flaky(fd, data):
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", flaky)
    append_finding(path, {"user": "bob"}, sleep=lambda seconds: None)
    assert len(calls) == 2 and [json.loads(line) for line in open(path)] == [{"user": "bob"}]


NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def acted(user, minutes_ago):
    return {"user": user, "event_id": None, "at": (NOW - timedelta(minutes=minutes_ago)).isoformat()}


@pytest.mark.parametrize("before, user, allowed, users", [
    ([], "a", True, ["a"]),
    ([acted("a", 1), acted("b", 2)], "c", True, ["a", "b", "c"]),
    ([acted("a", 1), acted("b", 2), acted("c", 3)], "d", False, ["a", "b", "c"]),  # the fourth user in the window
    ([acted("a", 1), acted("b", 2), acted("c", 3)], "b", True, ["a", "b", "c"]),  # acted on within the window: no new slot
    ([acted("a", 1), acted("b", 2), acted("c", 15)], "d", True, ["a", "b", "d"]),  # c's action left the window exactly now
    ([acted("a", 1), acted("b", 2), acted("c", 14)], "d", False, ["a", "b", "c"]),
])
def test_the_breaker_allows_max_actions_users_in_any_window(before, user, allowed, users):
    actions, answer = claim(before, user, "e9", Breaker(max_actions=3, window_minutes=15), NOW)
    assert answer["allowed"] is allowed and answer["users_in_window"] == users
    assert [a["user"] for a in actions] == list(dict.fromkeys([a["user"] for a in before if NOW - datetime.fromisoformat(a["at"]) < timedelta(minutes=15)]
                                                              + ([user] if allowed else [])))
    if not allowed:
        oldest = min(datetime.fromisoformat(a["at"]) for a in before)
        assert answer["reopens_at"] == (oldest + timedelta(minutes=15)).isoformat()
        assert answer["why"].startswith("circuit breaker open: 3 users acted on in the last 15 minutes (mfa_guard_max_actions=3)")


def test_no_action_at_all_with_max_actions_zero():
    answer = claim([], "a", None, Breaker(max_actions=0), NOW)[1]
    assert answer["allowed"] is False and answer["reopens_at"] is None
    assert answer["why"] == "circuit breaker open: 0 users acted on in the last 15 minutes (mfa_guard_max_actions=0); reporting only"


def test_the_breaker_state_is_counted_across_runs_reset_and_left_alone_in_check_mode(tmp_path):
    path = str(tmp_path / "guard" / "guard-breaker.json")
    breaker = Breaker(max_actions=2, window_minutes=15)
    assert breaker_claim(path, "a", "e1", breaker, NOW, check_mode=True)["allowed"] and not os.path.exists(path)
    assert breaker_claim(path, "a", "e1", breaker, NOW, check_mode=False)["changed"] is True
    assert breaker_claim(path, "a", "e2", breaker, NOW, check_mode=False)["changed"] is False  # a again: nothing new
    assert breaker_claim(path, "b", "e3", breaker, NOW, check_mode=False)["allowed"] is True
    refused = breaker_claim(path, "c", "e4", breaker, NOW, check_mode=False)
    assert refused["allowed"] is False and refused["changed"] is False and refused["users_in_window"] == ["a", "b"]
    assert breaker_reset(path, check_mode=True)["changed"] is True and os.path.exists(path)
    assert breaker_reset(path, check_mode=False)["changed"] is True and not os.path.exists(path)
    assert breaker_claim(path, "c", "e4", breaker, NOW, check_mode=False)["allowed"] is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_breaker_state_that_is_a_link_or_unreadable_is_refused(tmp_path):
    path = tmp_path / "guard-breaker.json"
    path.write_text("{not json")
    with pytest.raises(OSError, match="unreadable.*delete the file to reset it"):
        breaker_claim(str(path), "a", None, Breaker(), NOW, check_mode=False)
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(OSError, match="symbolic link"):
        breaker_claim(str(path), "a", None, Breaker(), NOW, check_mode=False)
    assert not (tmp_path / "elsewhere.json").exists()


def _claim_many(path, users, results):
    for user in users:
        results.put((user, breaker_claim(path, user, None, Breaker(max_actions=5), datetime.now(timezone.utc), check_mode=False)["allowed"]))


def test_runs_at_once_never_let_more_users_through_than_the_breaker_allows(tmp_path):
    path = str(tmp_path / "guard-breaker.json")
    results = multiprocessing.Queue()
    runs = [multiprocessing.Process(target=_claim_many, args=(path, [f"u{run}-{n}" for n in range(5)], results)) for run in range(4)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    allowed = [user for user, ok in (results.get() for dummy in range(20)) if ok]
    assert len(allowed) == 5 and sorted(a["user"] for a in json.load(open(path))["actions"]) == sorted(allowed)


def _hold(path, started, release):
    with exclusive(path):
        started.set()
        release.wait(10)


def test_the_enforcement_lock_makes_runs_take_turns(tmp_path):
    path = str(tmp_path / "guard-enforce.lock")
    started, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(path, started, release))
    holder.start()
    assert started.wait(10)
    fd = os.open(path, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by the other run
        release.set()
        holder.join()
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # let go when it ended
    finally:
        os.close(fd)


# --- every change that matters ------------------------------------------------------------------

def test_a_user_who_set_up_mfa_is_restored_and_one_whose_device_went_since_is_judged_as_ever():
    found = verdict(change("EnableMFADevice", serial="arn:aws:iam::1:mfa/bob"), facts(record("compliant", mfa_enabled=True)))
    assert found["restore"] is True and found["act"] is False and "undone" in found["why"]
    gone = verdict(change("EnableMFADevice"), facts(record("non-compliant", ["console_without_mfa"], mfa_enabled=False)))
    assert gone["restore"] is False and gone["act"] is True


def test_a_user_who_exempted_themselves_is_a_finding_of_its_own():
    exempted = record("exempted", exemption={"reason": "me", "until": None})
    own = verdict(change("TagUser", caller="arn:aws:iam::1:user/team/bob", tag_keys=["mfa-exempt"]), facts(exempted))
    assert own["self_exemption"] is True and own["act"] is False and own["why"].startswith("exempted themselves (the caller is the user")
    by_admin = verdict(change("TagUser", tag_keys=["mfa-exempt"]), facts(exempted))
    other_tag = verdict(change("TagUser", caller="arn:aws:iam::1:user/bob", tag_keys=["team"]), facts(exempted))
    custom = verdict(change("TagUser", caller="arn:aws:iam::1:user/bob", tag_keys=["no-mfa"]), facts(exempted), exempt_tag="no-mfa")
    assert (by_admin["self_exemption"], other_tag["self_exemption"], custom["self_exemption"]) == (False, False, True)


def test_an_exemption_taken_away_makes_a_user_without_mfa_acted_on():
    found = verdict(change("UntagUser", tag_keys=["mfa-exempt"]), facts(record("non-compliant", ["console_without_mfa"])))
    assert found["act"] is True and found["why"] == "without MFA: console_without_mfa"


def test_keys_that_no_longer_need_mfa_are_acted_on_only_when_enforcement_targets_them():
    unprotected = record("compliant", ["keys_not_mfa_protected"], mfa_enabled=True)
    detached = change("DetachUserPolicy")
    assert verdict(detached, facts(unprotected))["act"] is False
    assert verdict(detached, facts(unprotected), targets=["non-compliant", "keys_not_mfa_protected"])["act"] is True
    assert verdict(detached, facts(record("non-compliant", ["active_keys_without_mfa"])), targets=["keys_not_mfa_protected"])["act"] is False


def test_a_change_of_a_group_or_policy_gets_a_verdict_per_user_it_concerns():
    group = {"iam_change": change("DetachGroupPolicy", None, group="devs", event_id="g1")}
    policy = {"iam_change": change("DeletePolicy", None, policy_arn=f"arn:aws:iam::{ACCOUNT}:policy/RequireMFA", event_id="p1")}
    read = facts(record("non-compliant", ["console_without_mfa"]), dict(record("compliant"), username="ann"))
    found = verdicts([group, policy], read, {"g1": ["ann", "bob"], "p1": []})
    assert [(v["event_id"], v["user"], v["act"]) for v in found] == [("g1", "ann", False), ("g1", "bob", True), ("p1", None, False)]
    assert found[2]["why"].startswith("the change concerns no user now")
    unreached = verdicts([group], None, unreached="could not assume the role")
    assert [(v["act"], v["why"], v["unreached"]) for v in unreached] == [(False, "could not assume the role", True)]


def test_findings_say_how_each_verdict_was_handled_and_which_messages_stay():
    found = verdicts([{"iam_change": change(event_id="e1")}, {"iam_change": change(user="ann", event_id="e2")},
                      {"iam_change": change(user="cy", event_id="e3")}],
                     facts(record("non-compliant", ["console_without_mfa"]), dict(record("non-compliant", ["console_without_mfa"]), username="ann"),
                           dict(record("compliant"), username="cy")))
    handled = findings(found, {"enforce": True, "changed_users": ["bob", "cy"], "failed": {"ann": "AccessDenied"}, "breaker_why": None,
                               "denied_users": [], "handled_at": "t"})
    assert [(f["user"], f["changed"], f["error"]) for f in handled] == [("bob", True, None), ("ann", False, "AccessDenied"), ("cy", False, None)]
    assert kept_messages(handled) == ["e2"]  # the failed user's message stays; the others' go
    checked = findings(found, {"enforce": True, "check_mode": True, "changed_users": ["bob"], "denied_users": ["ann"], "breaker_why": "open"})
    assert [(f["changed"], f["breaker"]) for f in checked] == [(False, None), (False, "open"), (False, None)]


def test_the_breaker_answers_for_a_batch_of_users_in_turn(tmp_path):
    path = str(tmp_path / "guard-breaker.json")
    answer = breaker_claim(path, ["a", "b", "a", "c"], None, Breaker(max_actions=2), NOW, check_mode=False)
    assert (answer["allowed_users"], answer["denied_users"], answer["changed"]) == (["a", "b"], ["c"], True)
    assert answer["why"].startswith("circuit breaker open: 2 users acted on")
    again = breaker_claim(path, ["b", "d"], None, Breaker(max_actions=2), NOW, check_mode=False)
    assert (again["allowed_users"], again["denied_users"], again["changed"]) == (["b"], ["d"], False)


class FakeIAM:
    """IAM's answers about groups and policies (GetGroup, ListEntitiesForPolicy); a missing one is NoSuchEntity."""

    def __init__(self, groups, policies):
        self.groups, self.policies, self.calls = groups, policies, []

    def get_paginator(self, operation):
        iam = self

        class Pages:
            def paginate(self, PaginationConfig=None, **kwargs):  # noqa: N803 pylint: disable=invalid-name
                iam.calls.append((operation, kwargs))
                from botocore.exceptions import ClientError

                key = kwargs.get("GroupName") or kwargs.get("PolicyArn")
                table = iam.groups if operation == "get_group" else iam.policies
                if key not in table:
                    raise ClientError({"Error": {"Code": "NoSuchEntity", "Message": "gone"}}, operation)

                class Result:
                    def build_full_result(self):
                        return ({"Users": [{"UserName": u} for u in table[key]]} if operation == "get_group" else table[key])
                return Result()
        return Pages()


def test_the_users_a_group_or_policy_change_concerns_are_its_members_and_users_now():
    arn = f"arn:aws:iam::{ACCOUNT}:policy/RequireMFA"
    iam = FakeIAM({"devs": ["ann", "bob"], "ops": ["cy", "bob"]},
                  {arn: {"PolicyUsers": [{"UserName": "dan"}], "PolicyGroups": [{"GroupName": "ops"}], "PolicyRoles": []}})
    changes = [change("DetachGroupPolicy", None, group="devs", event_id="g1"), change("SetDefaultPolicyVersion", None, policy_arn=arn, event_id="p1"),
               change("DetachGroupPolicy", None, group="gone", event_id="g2"), change("DetachUserPolicy", event_id="u1"),
               change("DetachGroupPolicy", None, group="devs", event_id="g3")]
    concerned, calls = concerned_users(iam, changes)
    assert concerned == {"g1": ["ann", "bob"], "p1": ["bob", "cy", "dan"], "g2": [], "g3": ["ann", "bob"]}
    assert calls == len(iam.calls) == 4  # devs once, the policy, ops (its group), the deleted group; the user's change needs none
