# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MFA guard's verdict on one IAM change (module_utils/guard.py and the mfa_guard_verdict filter), and its record."""

import json
import multiprocessing
import os
import stat

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.awssec.mfa.plugins.filter.mfa_report import FilterModule, mfa_guard_verdict
from ansible_collections.awssec.mfa.plugins.module_utils.guard import append_finding, needs_reading, queue_location, verdict


def change(action="CreateLoginProfile", user="bob", **more):
    return dict({"action": action, "user": user, "time": "2026-12-01T10:00:00Z", "event_id": "e1", "caller": "arn:aws:iam::1:user/admin",
                 "status": None, "serial": None}, **more)


def record(status, reasons=(), **more):
    return dict({"username": "bob", "status": status, "reasons": list(reasons), "grace_days_remaining": None, "exemption": None}, **more)


def test_a_user_left_without_mfa_is_acted_on_with_the_reasons():
    found = verdict(change(), [record("non-compliant", ["console_without_mfa"])])
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
    found = verdict(change(), [user_record])
    assert found["act"] is False and found["why"] == why and found["status"] == user_record["status"]


def test_changes_that_need_no_reading_are_left_alone_without_a_read():
    assert not needs_reading(change("DeleteVirtualMFADevice", None, serial="arn:aws:iam::1:mfa/x"))
    assert not needs_reading(change("UpdateAccessKey", status="Inactive"))
    assert needs_reading(change("UpdateAccessKey", status="Active")) and needs_reading(change("CreateUser"))
    assert "names no user" in verdict(change("DeleteVirtualMFADevice", None), None)["why"]
    assert verdict(change("UpdateAccessKey", status="Inactive"), [record("non-compliant", ["active_keys_without_mfa"])])["act"] is False


def test_a_user_deleted_since_is_left_alone():
    found = verdict(change(), [])
    assert found["act"] is False and found["why"] == "the user no longer exists" and found["status"] is None


def test_the_filter_is_registered_and_reads_the_facts_users():
    assert FilterModule().filters()["mfa_guard_verdict"] is mfa_guard_verdict
    assert mfa_guard_verdict(change(), {"users": [record("non-compliant", ["console_without_mfa"])]})["act"] is True
    assert mfa_guard_verdict(change("DeleteVirtualMFADevice", None), None)["act"] is False


@pytest.mark.parametrize("given, facts, message", [
    ({"user": "bob"}, None, "expects the iam_change of an awssec.mfa.iam_changes event"),
    ("CreateUser", None, "expects the iam_change"),
    (change(), {"summary": {}}, "facts must be the iam_mfa facts"),
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
