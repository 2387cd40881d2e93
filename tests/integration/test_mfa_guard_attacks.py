# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MFA guard cannot be turned against the account (docs/event-driven.md, threat model). Whoever can send to its
queue is the attacker: templates in every field, messages that crash parsers, events of another account or partition,
exempted users, bursts and duplicates, a findings file that points elsewhere. Each is tried under the real
ansible-rulebook and by hand (ansible-playbook awssec.mfa.mfa_guard -e @event.json), against the moto server."""

import json
import threading
import time
from datetime import datetime, timezone

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.iam_events import iam_change
from tests.integration.conftest import BIN, run
from tests.integration.guard import guard_account, guarded, queue_counts, read_findings, start, stop, wait_for
from tests.support.demo_account import DemoUser, Key, create_user
from tests.support.iam_events import cloudtrail_event, message

OTHER_ACCOUNT = "999999999999"
USERS = [
    DemoUser("pat.new", 30, console=True),
    DemoUser("dora.lost", 400, mfa="virtual", console=True),  # deactivates her MFA device
    DemoUser("svc-backup", 60, console=True, keys=[Key(60)]),  # matches the inventory's exclusion svc-*
    DemoUser("victim.x", 60, console=True, keys=[Key(60)]),  # named by events of another account or partition
    *[DemoUser(f"burst.{n}", 30, console=True) for n in range(1, 5)],
]
EXCLUSION = {"mfa_enforce_exclude_users": ["svc-*"]}


def pwned_command(tmp_path, field):
    """A template that, evaluated, creates a file named after the field it was put in."""
    return "{{ lookup('ansible.builtin.pipe', 'touch " + str(tmp_path / f"PWNED-{field}") + "') }}"


def pwned(tmp_path):
    return sorted(p.name for p in tmp_path.glob("PWNED-*"))


@pytest.fixture
def account(moto_server, iam):
    """The users, dora's MFA device deactivated, and an empty queue: (sqs client, queue URL)."""
    return guard_account(moto_server, iam, USERS)


@pytest.fixture
def linked_findings(tmp_path):
    """A findings path that is a symbolic link to another file: (the link, its target)."""
    target = tmp_path / "precious.txt"
    target.write_text("precious\n")
    link = tmp_path / "guard" / "findings.jsonl"
    link.parent.mkdir(mode=0o700)
    link.symlink_to(target)
    return link, target


def untouched(iam, name):
    """Nothing of enforcement on the user: no policy, no record, every key as it was made (active)."""
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    tags = iam.list_user_tags(UserName=name)["Tags"]
    return not guarded(iam, name) and all(k["Status"] == "Active" for k in keys) and not any(t["Key"].startswith("awssec:") for t in tags)


def login_profile(user, **kwargs):
    return message("CreateLoginProfile", request={"userName": user, "passwordResetRequired": True}, **kwargs)


def received(sqs, url, body):
    """The event the source would emit for ``body``, with a real message of the queue (sent and received)."""
    sqs.send_message(QueueUrl=url, MessageBody=body)
    got = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"][0]
    return {"iam_change": iam_change(body), "sqs": {"queue_url": url, "message_id": got["MessageId"], "receipt_handle": got["ReceiptHandle"]}}


def by_hand(env, tmp_path, event, enforce=True, settings=None, findings=None, flags=()):
    """ansible-playbook awssec.mfa.mfa_guard -e @event.json, with the settings as the rulebook's inventory gives them
    (and ``flags``, such as -vvv)."""
    path = tmp_path / f"event-{time.monotonic_ns()}.json"
    path.write_text(json.dumps({"ansible_eda": {"event": event}}))
    inventory = tmp_path / f"inventory-{time.monotonic_ns()}.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "mfa_guard_enforce": enforce, "mfa_guard_findings_path": str(findings or tmp_path / "findings.jsonl"),
        **(settings or {})}}}}))
    return run([str(BIN / "ansible-playbook"), "awssec.mfa.mfa_guard", "-i", str(inventory), "-e", f"@{path}", *flags], env, check=False)


# --- by hand ------------------------------------------------------------------------------------

@pytest.mark.parametrize("part, field", [("iam_change", "user"), ("iam_change", "caller"), ("iam_change", "action"),
                                         ("iam_change", "account_id"), ("iam_change", "time"), ("sqs", "receipt_handle")])
def test_by_hand_a_template_in_any_field_runs_nothing_and_changes_nothing(account, env, iam, tmp_path, part, field):
    sqs, url = account
    event = received(sqs, url, login_profile("pat.new"))
    event[part][field] = pwned_command(tmp_path, field)
    result = by_hand(env, tmp_path, event)
    assert result.returncode != 0 and f"{part}.{field} is not" in result.stdout, result.stdout
    assert pwned(tmp_path) == [] and untouched(iam, "pat.new")
    assert "touch" not in result.stdout  # the field is named, its value never repeated
    assert queue_counts(sqs, url) == (0, 1)  # not handled: the message stays for its dead-letter queue


@pytest.mark.parametrize("body, made_in", [
    (login_profile("victim.x", account_id=OTHER_ACCOUNT), f"account {OTHER_ACCOUNT} (aws)"),
    (login_profile("victim.x", partition="aws-cn", region="cn-north-1"), "account 123456789012 (aws-cn)"),
])
def test_by_hand_a_change_of_another_account_or_partition_is_recorded_and_changes_nothing(account, env, iam, tmp_path, body, made_in):
    sqs, url = account
    result = by_hand(env, tmp_path, received(sqs, url, body))
    assert result.returncode == 0, result.stdout
    [finding] = read_findings(tmp_path / "findings.jsonl")
    assert finding["act"] is False and finding["changed"] is False and finding["why"].startswith(f"not this guard's account: the change was made in {made_in}")
    assert untouched(iam, "victim.x") and queue_counts(sqs, url) == (0, 0)


def test_by_hand_an_excluded_user_is_not_enforced(account, env, iam, tmp_path):
    sqs, url = account
    result = by_hand(env, tmp_path, received(sqs, url, login_profile("svc-backup")), settings=EXCLUSION)
    assert result.returncode == 0, result.stdout
    [finding] = read_findings(tmp_path / "findings.jsonl")
    assert finding["act"] is False and finding["why"] == "left alone: exempted (matches exclude_users pattern svc-*)"
    assert untouched(iam, "svc-backup")


def test_by_hand_a_burst_past_the_breaker_enforces_only_up_to_it_and_reports_the_rest(account, env, iam, tmp_path):
    sqs, url = account
    settings = {"mfa_guard_max_actions": 2, "mfa_guard_window_minutes": 15}
    for name in ("burst.1", "burst.2", "burst.1", "burst.3"):  # burst.1 again: acted on within the window, no new slot
        assert by_hand(env, tmp_path, received(sqs, url, login_profile(name)), settings=settings).returncode == 0
    findings = read_findings(tmp_path / "findings.jsonl")
    assert [(f["user"], f["act"], f["changed"], f["breaker"] is not None) for f in findings] == [
        ("burst.1", True, True, False), ("burst.2", True, True, False), ("burst.1", True, False, False), ("burst.3", True, False, True)]
    assert findings[3]["breaker"].startswith("circuit breaker open: 2 users acted on in the last 15 minutes (mfa_guard_max_actions=2)")
    assert guarded(iam, "burst.1") and guarded(iam, "burst.2") and untouched(iam, "burst.3")
    assert queue_counts(sqs, url) == (0, 0)  # every change handled, the one past the breaker too (reported)


@pytest.mark.both_ends("playbook:mfa_guard.yml", "module:iam_change_event", "module:mfa_guard_breaker")
def test_by_hand_two_copies_of_one_change_handled_at_once_change_iam_once(account, env, iam, tmp_path, moto_server):
    """Each enforcement's first write takes seconds (as a slow IAM would), so the two handlings overlap: unless they take
    turns, both read the user before either has acted, and both act."""
    sqs, url = account
    moto_server.before("TagUser", lambda params: time.sleep(3))
    body = login_profile("pat.new")
    copies = [received(sqs, url, body) for dummy in range(2)]
    assert copies[0]["iam_change"] == copies[1]["iam_change"]
    results = [None, None]

    def handle(number):
        results[number] = by_hand(env, tmp_path, copies[number])

    runs = [threading.Thread(target=handle, args=(number,)) for number in range(2)]
    try:
        for thread in runs:
            thread.start()
        for thread in runs:
            thread.join()
    finally:
        moto_server.clear_hooks()
    assert all(r.returncode == 0 for r in results), [r.stdout for r in results]
    findings = read_findings(tmp_path / "findings.jsonl")
    assert len(findings) == 2 and all(f["act"] for f in findings) and sorted(f["changed"] for f in findings) == [False, True]
    assert guarded(iam, "pat.new") and queue_counts(sqs, url) == (0, 0)


def test_by_hand_a_findings_file_that_is_a_link_is_refused_and_the_message_kept(account, env, tmp_path, linked_findings):
    sqs, url = account
    link, target = linked_findings
    result = by_hand(env, tmp_path, received(sqs, url, login_profile("gone.user")), findings=link)
    assert result.returncode != 0 and "symbolic link: refused" in result.stdout, result.stdout
    assert target.read_text() == "precious\n" and queue_counts(sqs, url) == (0, 1)


def test_by_hand_the_user_is_read_with_the_credentials_that_enforce_on_them(account, env, iam, tmp_path, moto_server):
    """The guard's IAM credentials given as mfa_enforce_aws_access_key/secret_key/session_token (a member account's role;
    the queue in the run's own account): the live read uses them as the enforcement does. Read with the run's own
    credentials instead, it found another account's user of the same name and left the member's alone."""
    from tests.support.organization import client

    sqs, url = account
    member = "111111111111"
    role = client(moto_server.url, "sts").assume_role(RoleArn=f"arn:aws:iam::{member}:role/guard", RoleSessionName="guard")["Credentials"]
    member_iam = client(moto_server.url, "iam", role)
    create_user(member_iam, USERS[0], datetime.now(timezone.utc), 0, member)  # pat.new, in the member account too
    keys = {"mfa_enforce_aws_access_key": role["AccessKeyId"], "mfa_enforce_aws_secret_key": role["SecretAccessKey"],
            "mfa_enforce_aws_session_token": role["SessionToken"]}
    result = by_hand(env, tmp_path, received(sqs, url, login_profile("pat.new", account_id=member)), settings=keys)
    assert result.returncode == 0, result.stdout
    finding, = read_findings(tmp_path / "findings.jsonl")
    assert finding["act"] and finding["changed"], finding
    assert guarded(member_iam, "pat.new") and untouched(iam, "pat.new")  # the member's user, not the run's account's
    assert queue_counts(sqs, url) == (0, 0)
    assert role["SecretAccessKey"] not in result.stdout and role["SessionToken"] not in result.stdout


# --- under the real ansible-rulebook ------------------------------------------------------------

def rulebook_log(log):
    return open(log.name).read()


def test_under_the_rulebook_poison_templates_foreign_events_exclusions_duplicates_and_a_burst(account, env, iam, tmp_path):
    """One queue holding what an attacker can send, then valid changes behind it: the rulebook keeps running, runs no
    template, acts only on this account's users that are not exempted, one change once, and no more users than the
    breaker allows."""
    sqs, url = account
    deep = "[" * 200_000 + "]" * 200_000
    list_caller = cloudtrail_event("CreateLoginProfile", request={"userName": "pat.new"})
    list_caller["detail"]["userIdentity"] = ["admin"]
    caller_named = cloudtrail_event("CreateAccessKey", request=None)
    caller_named["detail"]["userIdentity"]["userName"] = pwned_command(tmp_path, "caller")
    templated = {field: cloudtrail_event("CreateLoginProfile", request={"userName": "pat.new"}) for field in ("action", "account")}
    templated["action"]["detail"]["eventName"] = pwned_command(tmp_path, "action")
    templated["account"]["detail"]["recipientAccountId"] = templated["account"]["account"] = pwned_command(tmp_path, "account")
    poison = [deep, json.dumps({"Type": "Notification", "Message": deep}), message("CreateLoginProfile", request="userName=pat.new"),
              json.dumps(list_caller), login_profile(pwned_command(tmp_path, "user")), json.dumps(caller_named),
              json.dumps(templated["action"]), json.dumps(templated["account"]),
              login_profile("victim.x", partition="aws-cn")]  # a China caller in a us-east-1 event: contradicts itself
    pat = login_profile("pat.new")
    valid = [pat, pat,  # two copies of one change, handled at once
             login_profile("victim.x", account_id=OTHER_ACCOUNT), login_profile("victim.x", partition="aws-cn", region="cn-north-1"),
             login_profile("svc-backup"), *[login_profile(f"burst.{n}") for n in range(1, 5)],
             message("DeactivateMFADevice", request={"userName": "dora.lost", "serialNumber": "arn:aws:iam::123456789012:mfa/dora.lost"})]
    for body in poison + valid:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    process, findings, log = start(env, tmp_path, url, enforce=True, concurrency=2,
                                   settings={**EXCLUSION, "mfa_guard_max_actions": 3, "mfa_guard_window_minutes": 15})
    try:
        done = wait_for(lambda: len(read_findings(findings)) >= len(valid) and queue_counts(sqs, url) == (0, 0), 240)
        running = process.poll() is None
    finally:
        stop(process)
        log.close()
    text = rulebook_log(log)
    assert done and running, f"{read_findings(findings)}\n{text[-6000:]}"
    # Every bad message deleted with why; the template as the action is no call the guard watches (dropped as such).
    assert "Source error" not in text and text.count("is not an IAM change as AWS sends it") == len(poison) - 1
    assert text.count("records no IAM change that bears on MFA: deleted") == 1
    assert pwned(tmp_path) == []
    found = read_findings(findings)
    assert len(found) == len(valid)
    by_user = {}
    for finding in found:
        by_user.setdefault(finding["user"], []).append(finding)
    # Another account's or partition's change: recorded, never acted on; the same-named user here untouched.
    assert sorted(f["why"].split(":")[0] for f in by_user["victim.x"]) == ["not this guard's account"] * 2 and untouched(iam, "victim.x")
    assert [f["why"] for f in by_user["svc-backup"]] == ["left alone: exempted (matches exclude_users pattern svc-*)"]
    assert untouched(iam, "svc-backup")
    # The breaker: three users acted on, the others reported with why; pat's two copies changed IAM once.
    acting = ["pat.new", "dora.lost", *[f"burst.{n}" for n in range(1, 5)]]
    enforced = sorted(name for name in acting if guarded(iam, name))
    assert len(enforced) == 3 and "pat.new" in enforced, enforced
    assert sorted(f["user"] for f in found if f["changed"]) == enforced
    assert sorted(f["user"] for f in found if f["breaker"]) == sorted(set(acting) - set(enforced))
    assert len(by_user["pat.new"]) == 2 and [f["changed"] for f in by_user["pat.new"]].count(True) == 1


def test_under_the_rulebook_a_findings_file_that_is_a_link_is_refused_and_the_message_kept(account, env, tmp_path, linked_findings):
    sqs, url = account
    link, target = linked_findings
    sqs.send_message(QueueUrl=url, MessageBody=login_profile("gone.user"))
    process, findings, log = start(env, tmp_path, url, enforce=True, findings=link)
    try:
        refused = wait_for(lambda: "symbolic link: refused" in rulebook_log(log), 90)
    finally:
        stop(process)
        log.close()
    assert refused, rulebook_log(log)[-5000:]
    assert target.read_text() == "precious\n" and queue_counts(sqs, url) == (0, 1)  # in flight, not deleted: it comes back
