# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MFA guard on every change that matters, under the real ansible-rulebook (and by hand): a user it enforced on
sets up MFA and gets exactly their access back; an exemption taken away makes a user acted on; a user exempting
themselves is a finding; RequireMFA detached from an enforced user comes back; the changes of two member accounts of an
Organization, through one queue, are each handled in their own account with its role; a batch in which one user's
enforcement fails leaves that user's message in the queue and no other."""

import json
from datetime import datetime, timezone

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.iam_events import iam_change
from tests.integration.guard import guard_account, guarded, queue_counts, read_findings, start, stop, wait_for
from tests.integration.test_enforce_playbook import account_state
from tests.integration.test_every_door import _secrets
from tests.integration.test_mfa_guard_attacks import by_hand
from tests.support.demo_account import EXEMPT_TAG, DemoUser, Key, create_user
from tests.support.iam_events import message
from tests.support.organization import ROLE_NAME, client

USERS = [
    DemoUser("rita.late", 30, console=True, keys=[Key(30)]),  # enforced by the guard, then sets up MFA: restored
    DemoUser("dora.lost", 400, mfa="virtual", console=True),  # (guard_account deactivates her device) enforced, then RequireMFA detached
    DemoUser("ezra.exempt", 60, console=True, tags={EXEMPT_TAG: "break-glass"}),  # the exemption is taken away: acted on
    DemoUser("sam.self", 60, console=True),  # puts the exemption tag on himself
]
SETTINGS = {"mfa_enforce_grace_period_days": 7}


def send(sqs, url, action, request, caller="admin", **kwargs):
    sqs.send_message(QueueUrl=url, MessageBody=message(action, request=request, caller=caller, **kwargs))


def handled(findings, count):
    return lambda: len(read_findings(findings)) >= count


def event_of(url, received):
    """The event the source emits for a message received from the queue."""
    return {"iam_change": iam_change(received["Body"]),
            "sqs": {"queue_url": url, "message_id": received["MessageId"], "receipt_handle": received["ReceiptHandle"]}}


def refuse_for(name, marker="UserName"):
    """A moto_server hook refusing (AccessDenied) a request whose ``marker`` parameter is ``name`` or an ARN of it."""
    def hook(params):
        return (403, "AccessDenied", "not authorized") if name in params.get(marker, "").split(":") else None
    return hook


def test_under_the_rulebook_mfa_set_up_restores_exemptions_and_detached_policies_are_acted_on(moto_server, iam, env, tmp_path):
    sqs, url = guard_account(moto_server, iam, USERS)
    before = account_state(iam)["users"]
    for name in ("rita.late", "dora.lost"):
        send(sqs, url, "CreateLoginProfile", {"userName": name})
    iam.untag_user(UserName="ezra.exempt", TagKeys=[EXEMPT_TAG])
    send(sqs, url, "UntagUser", {"userName": "ezra.exempt", "tagKeys": [EXEMPT_TAG]})
    iam.tag_user(UserName="sam.self", Tags=[{"Key": EXEMPT_TAG, "Value": "trust me"}])
    send(sqs, url, "TagUser", {"userName": "sam.self", "tags": [{"key": EXEMPT_TAG, "value": "trust me"}]}, caller="sam.self")
    process, findings, log = start(env, tmp_path, url, enforce=True, settings=SETTINGS)
    try:
        first = wait_for(handled(findings, 4), 240) and wait_for(lambda: queue_counts(sqs, url) == (0, 0), 30)
        assert first, f"{read_findings(findings)}\n{open(log.name).read()[-5000:]}"
        enforced = account_state(iam)["users"]
        # Rita sets up MFA; someone detaches RequireMFA from Dora, who still has none.
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="rita.late")["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName="rita.late", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
        send(sqs, url, "EnableMFADevice", {"userName": "rita.late", "serialNumber": serial}, caller="rita.late")
        [policy] = enforced["dora.lost"]["policies"]
        iam.detach_user_policy(UserName="dora.lost", PolicyArn=policy)
        send(sqs, url, "DetachUserPolicy", {"userName": "dora.lost", "policyArn": policy})
        second = wait_for(handled(findings, 6), 120) and wait_for(lambda: queue_counts(sqs, url) == (0, 0), 30)
    finally:
        stop(process)
        log.close()
    assert second, f"{read_findings(findings)}\n{open(log.name).read()[-5000:]}"
    found = {(f["user"], f["action"]): f for f in read_findings(findings)}
    # Enforced on the first changes: Rita, Dora, and Ezra once his exemption was taken away; Sam's self-exemption is a finding.
    assert {user for (user, action), f in found.items() if f["act"] and f["changed"]} == {"rita.late", "dora.lost", "ezra.exempt"}
    assert all(guarded(iam, name) for name in ("dora.lost", "ezra.exempt")) and "awssec:mfa-enforced-at" in enforced["rita.late"]["tags"]
    assert [k for k, status in enforced["rita.late"]["keys"].items() if status == "Inactive"] == list(before["rita.late"]["keys"])
    sam = found[("sam.self", "TagUser")]
    assert sam["self_exemption"] is True and sam["act"] is False and sam["why"].startswith("exempted themselves")
    assert not guarded(iam, "sam.self") and found[("ezra.exempt", "UntagUser")]["why"].startswith("without MFA: console_without_mfa")
    # Rita got back exactly what she had (her keys active again, no policy, no record), with her new MFA device.
    restored = found[("rita.late", "EnableMFADevice")]
    assert restored["restore"] is True and restored["changed"] is True
    assert account_state(iam)["users"]["rita.late"] == dict(before["rita.late"], mfa=True)
    # RequireMFA is back on Dora.
    again = found[("dora.lost", "DetachUserPolicy")]
    assert again["act"] is True and again["changed"] is True and account_state(iam)["users"]["dora.lost"]["policies"] == [policy]


def _member_with_users(url, index, names):
    """A member account of the moto Organization with ``names`` (console, no MFA, 30 days old): its id and IAM client."""
    organizations = client(url, "organizations")
    account_id = organizations.create_account(Email=f"m{index}@example.com", AccountName=f"member-{index}")["CreateAccountStatus"]["AccountId"]
    role = client(url, "sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}", RoleSessionName="seed")["Credentials"]
    member = client(url, "iam", role)
    for number, name in enumerate(names):
        create_user(member, DemoUser(name, 30, console=True), datetime.now(timezone.utc), number, account_id)
    return account_id, member


def test_under_the_rulebook_two_member_accounts_changes_through_one_queue_act_each_in_its_own_account(moto_server, iam, env, tmp_path):
    sqs, url = guard_account(moto_server, iam, [DemoUser("dora.lost", 400, mfa="virtual", console=True), DemoUser("pat.new", 30, console=True)])
    client(moto_server.url, "organizations").create_organization(FeatureSet="ALL")
    first, first_iam = _member_with_users(moto_server.url, 1, ["pat.new", "ann.one"])
    second, second_iam = _member_with_users(moto_server.url, 2, ["bob.two"])
    for account_id, name in ((first, "pat.new"), (first, "ann.one"), (second, "bob.two")):
        send(sqs, url, "CreateLoginProfile", {"userName": name}, account_id=account_id)
    send(sqs, url, "CreateLoginProfile", {"userName": "pat.new"}, account_id="999999999999")  # an account that has no such role
    moto_server.before("AssumeRole", refuse_for("999999999999", "RoleArn"))
    home = account_state(iam)
    process, findings, log = start(env, tmp_path, url, enforce=True, settings=dict(SETTINGS, mfa_guard_role_name=ROLE_NAME))
    try:
        done = wait_for(handled(findings, 4), 240) and wait_for(lambda: queue_counts(sqs, url)[0] + queue_counts(sqs, url)[1] <= 1, 30)
    finally:
        stop(process)
        log.close()
        moto_server.clear_hooks()
    assert done, f"{read_findings(findings)}\n{open(log.name).read()[-5000:]}"
    found = {(f["account_id"], f["user"]): f for f in read_findings(findings)}
    assert {key for key, f in found.items() if f["act"] and f["changed"]} == {(first, "pat.new"), (first, "ann.one"), (second, "bob.two")}
    assert all(guarded(first_iam, n) for n in ("pat.new", "ann.one")) and guarded(second_iam, "bob.two")
    assert account_state(iam) == home  # the guard's own account's pat.new, same name, untouched
    lost = found[("999999999999", "pat.new")]
    assert lost["unreached"] is True and lost["act"] is False and lost["why"].startswith(
        f"could not assume arn:aws:iam::999999999999:role/{ROLE_NAME}")
    assert sum(queue_counts(sqs, url)) == 1  # its message stays, for the dead-letter queue


def test_by_hand_one_users_failed_enforcement_leaves_that_users_message_and_no_other(moto_server, iam, env, tmp_path):
    sqs, url = guard_account(moto_server, iam, [DemoUser("dora.lost", 400, mfa="virtual", console=True),
                                                *[DemoUser(f"u{n}", 30, console=True) for n in range(3)]])
    for n in range(3):
        send(sqs, url, "CreateLoginProfile", {"userName": f"u{n}"})
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    moto_server.before("AttachUserPolicy", refuse_for("u1"))
    try:
        result = by_hand(env, tmp_path, {"iam_changes": [event_of(url, m) for m in received]})
    finally:
        moto_server.clear_hooks()
    assert result.returncode == 0, result.stdout
    found = {f["user"]: f for f in read_findings(tmp_path / "findings.jsonl")}
    assert found["u1"]["error"] and not found["u1"]["changed"] and found["u0"]["changed"] and found["u2"]["changed"], (found, result.stdout[-8000:])
    [kept] = [m for m in received if json.loads(m["Body"])["detail"]["requestParameters"]["userName"] == "u1"]
    assert queue_counts(sqs, url) == (0, 1)  # u1's message, in flight until its visibility timeout; the others deleted
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=kept["ReceiptHandle"], VisibilityTimeout=0)
    assert [m["MessageId"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == [kept["MessageId"]]


@pytest.mark.both_ends("module:iam_change_users")
def test_by_hand_a_policy_detached_from_a_group_rereads_its_members(moto_server, iam, env, tmp_path):
    sqs, url = guard_account(moto_server, iam, [DemoUser("dora.lost", 400, mfa="virtual", console=True), DemoUser("gus.nomfa", 30, console=True),
                                                DemoUser("hal.mfa", 30, mfa="virtual", console=True)])
    iam.create_group(GroupName="devs")
    for name in ("gus.nomfa", "hal.mfa"):
        iam.add_user_to_group(GroupName="devs", UserName=name)
    send(sqs, url, "DetachGroupPolicy", {"groupName": "devs", "policyArn": "arn:aws:iam::123456789012:policy/RequireMFA"})
    [received] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"]
    event = event_of(url, received)
    result = by_hand(env, tmp_path, event, enforce=False)
    assert result.returncode == 0, result.stdout
    found = {f["user"]: f for f in read_findings(tmp_path / "findings.jsonl")}
    assert set(found) == {"gus.nomfa", "hal.mfa"} and all(f["action"] == "DetachGroupPolicy" for f in found.values())
    assert found["gus.nomfa"]["act"] is True and found["hal.mfa"]["act"] is False and found["hal.mfa"]["status"] == "compliant"
    assert not guarded(iam, "gus.nomfa") and queue_counts(sqs, url) == (0, 0)  # warned, not enforced; the message deleted


def test_by_hand_an_organizations_guard_prints_no_secret_of_the_role_it_assumes_even_at_vvv(moto_server, iam, env, tmp_path):
    sqs, url = guard_account(moto_server, iam, [DemoUser("dora.lost", 400, mfa="virtual", console=True)])
    client(moto_server.url, "organizations").create_organization(FeatureSet="ALL")
    member, member_iam = _member_with_users(moto_server.url, 1, ["pat.new"])
    send(sqs, url, "CreateLoginProfile", {"userName": "pat.new"}, account_id=member)
    [received] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"]
    before = _secrets(moto_server.url)
    result = by_hand(env, tmp_path, event_of(url, received), settings={"mfa_guard_role_name": ROLE_NAME}, flags=("-vvv",))
    assert result.returncode == 0, result.stdout
    assert guarded(member_iam, "pat.new")  # enforced in the member account, with the role's credentials
    secrets = _secrets(moto_server.url) - before  # those of the role the guard assumed
    output = result.stdout + result.stderr
    assert secrets and not [secret[:6] for secret in secrets if secret in output]
