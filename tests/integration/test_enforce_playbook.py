# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ansible-playbook awssec.mfa.enforce against a moto server, with the account read through boto3 around each run."""

import contextlib
import json
import re
import time

import pytest

from ansible_collections.awssec.mfa.plugins.module_utils.policy import mfa_policy
from tests.integration.conftest import run
from tests.support.demo_account import EXCLUDE_USERS, expected_counts
from tests.support.moto_server import iam_backend

POLICY_ARN = "arn:aws:iam::123456789012:policy/RequireMFA"
RECORD_TAGS = ("awssec:mfa-enforced-at", "awssec:mfa-changed-at", "awssec:mfa-disabled-keys", "awssec:mfa-pending")


def account_state(iam) -> dict:
    """Everything enforcement may change: key statuses, login profiles, attached policies, tags, local policies."""
    users = {}
    for user in iam.get_paginator("list_users").paginate().build_full_result()["Users"]:
        name = user["UserName"]
        try:
            iam.get_login_profile(UserName=name)
            console = True
        except iam.exceptions.NoSuchEntityException:
            console = False
        users[name] = {
            "keys": {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]},
            "console": console,
            "policies": sorted(p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]),
            "tags": {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]},
            "mfa": bool(iam.list_mfa_devices(UserName=name)["MFADevices"]),
        }
    policies = {p["Arn"]: p["DefaultVersionId"] for p in iam.list_policies(Scope="Local")["Policies"]}
    return {"users": users, "policies": policies}


def enforce(server, env, *flags, check=True, **variables):
    """Run the playbook with the JSON callback; return (module result, printed text, process)."""
    env = dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    extra = {"mfa_enforce_aws_endpoint_url": server.url, **variables}
    process = run(["ansible-playbook", "awssec.mfa.enforce", "-e", json.dumps(extra), *flags], env, check=check)
    tasks = json.loads(process.stdout)["plays"][0]["tasks"]
    results = [(t["task"]["name"], t["hosts"]["localhost"]) for t in tasks]
    module = next(r for name, r in results if "Enforce MFA on non-compliant IAM users" in name)
    printed = next((r["msg"] for name, r in results if "Print the" in name), [])
    return module, "\n".join(printed), process


def planned(result) -> dict:
    return {e["username"]: e["actions"] for e in result["actions"] if e["actions"]}


DEMO = {"mfa_enforce_exclude_users": EXCLUDE_USERS, "mfa_enforce_max_affected": 20}


@pytest.mark.both_ends("playbook:enforce.yml", "role:mfa_enforce", "module:iam_mfa_enforce")
def test_check_then_apply_then_nothing_left(demo, env):
    before = account_state(demo.iam)
    preview, text, dummy = enforce(demo.server, env, "--check", "--diff", **DEMO)
    assert account_state(demo.iam) == before  # check mode changed nothing at all

    targets = {name for name, status in expected_counts(demo.users, demo.today)[1].items() if status == "non-compliant"}
    plan = planned(preview)
    assert set(plan) == targets and len(targets) == 14
    assert all(e["result"] == "planned" for e in preview["actions"]) and preview["changed"] and preview["policy_change"] == "create"
    for name in targets:
        active = sorted(k for k, s in before["users"][name]["keys"].items() if s == "Active")
        assert plan[name] == [f"disable_key:{k}" for k in active] + ["attach_policy"]
        assert preview["diff"]["before"][name]["policy_attached"] is False and preview["diff"]["after"][name]["policy_attached"] is True
    for text_part in ("IAM MFA ENFORCEMENT PREVIEW", "│ bob.wilson ", "Console access without MFA", "Within grace period (5 days remaining)",
                      "Exempted: matches exclude_users pattern svc-*", "Would attach the MFA-required policy to 14 users"):
        assert text_part in text

    applied, text, dummy = enforce(demo.server, env, **DEMO)
    assert planned(applied) == plan and all(e["result"] == "done" for e in applied["actions"])
    after = account_state(demo.iam)
    for name, user in after["users"].items():
        if name not in targets:
            assert user == before["users"][name]
            continue
        disabled = [a.split(":", 1)[1] for a in plan[name] if a.startswith("disable_key:")]
        assert user["keys"] == {k: ("Inactive" if k in disabled else s) for k, s in before["users"][name]["keys"].items()}
        assert user["policies"] == [POLICY_ARN] and user["console"] == before["users"][name]["console"]
        assert user["tags"]["awssec:mfa-disabled-keys"].split() == disabled
    assert list(after["policies"]) == [POLICY_ARN]
    assert "IAM MFA ENFORCEMENT COMPLETE" in text and "No AWS access" in text

    again, dummy, dummy = enforce(demo.server, env, "--check", **DEMO)
    assert again["changed"] is False and planned(again) == {}
    again, dummy, dummy = enforce(demo.server, env, **DEMO)
    assert again["changed"] is False and planned(again) == {}
    assert account_state(demo.iam) == after


def test_user_who_enables_mfa_after_gathering_is_not_touched(demo, env):
    def enable_mfa_first(params):
        # Gathering reads the credential report; the first ListMFADevices for alice.brown is the re-read before acting.
        if params.get("UserName") == "alice.brown" and not iam_backend().get_user("alice.brown").mfa_devices:
            iam_backend().enable_mfa_device("alice.brown", "GAHT12345678", "123456", "654321")

    before = account_state(demo.iam)["users"]["alice.brown"]
    demo.server.before("ListMFADevices", enable_mfa_first)
    try:
        result, dummy, dummy = enforce(demo.server, env, **DEMO)
    finally:
        demo.server.clear_hooks()
    alice = next(e for e in result["actions"] if e["username"] == "alice.brown")
    assert (alice["result"], alice["reason"], alice["actions"]) == ("skipped", "mfa_enabled_since_report", [])
    now = account_state(demo.iam)["users"]["alice.brown"]
    assert now == dict(before, mfa=True)
    assert result["summary"]["skipped"] == 1 and result["summary"]["users_affected"] == 13


def _user_with_key(iam, name, login=False):
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    if login:
        iam.create_login_profile(UserName=name, Password="Initial-Passw0rd!")
    return key


def test_the_calling_identity_is_never_touched(moto_server, iam, env):
    admin = _user_with_key(iam, "ops.admin", login=True)
    _user_with_key(iam, "dev.one")
    caller_env = dict(env, AWS_ACCESS_KEY_ID=admin["AccessKeyId"], AWS_SECRET_ACCESS_KEY=admin["SecretAccessKey"])
    before = account_state(iam)["users"]["ops.admin"]

    result, dummy, process = enforce(moto_server, caller_env, mfa_enforce_grace_period_days=0, mfa_enforce_disable_console_access=True)
    results = {e["username"]: (e["result"], e.get("reason")) for e in result["actions"]}
    assert results == {"ops.admin": ("skipped", "caller_identity"), "dev.one": ("done", None)}
    state = account_state(iam)["users"]
    assert state["ops.admin"] == before
    assert list(state["dev.one"]["keys"].values()) == ["Inactive"]
    assert admin["SecretAccessKey"] not in process.stdout + process.stderr


def test_the_readme_preview_over_max_affected_shows_the_whole_plan_and_says_applying_would_be_refused(demo, env):
    """The README's preview, with the default max_affected (10), on the demo account: a preview changes nothing, so it
    is not refused; it shows every user it would act on, and says that applying it would be, why, and the limit to set."""
    before = account_state(demo.iam)
    preview, text, process = enforce(demo.server, env, "--check", "--diff", mfa_enforce_exclude_users=["svc-*"])
    assert process.returncode == 0 and not preview.get("failed") and account_state(demo.iam) == before
    acted = sorted(planned(preview))
    assert len(acted) > 10 and preview["over_max_affected"] == acted and sorted(preview["diff"]["after"]) == acted
    refusal = (f"Applying this plan would be refused: {len(acted)} users would be acted on, more than max_affected=10. To apply it, "
               f"raise the limit to at least {len(acted)}")
    assert any(w.startswith(refusal) for w in preview["warnings"])
    assert f"Would attach the MFA-required policy to {len(acted)} users" in text
    assert f"Applying this plan would be refused: {len(acted)} users would be acted on, more than max_affected; raise it to at least {len(acted)}" in text


def test_a_misspelt_role_variable_is_warned_about_with_the_nearest_known_name(demo, env):
    """-e mfa_enforce_exclude_user (for ..._users) used to plan on svc-backup without a word: the role now says so first."""
    extra = {"mfa_enforce_aws_endpoint_url": demo.server.url, "mfa_enforce_exclude_user": ["svc-*"], "mfa_enforce_max_affected": 50}
    process = run(["ansible-playbook", "awssec.mfa.enforce", "--check", "-e", json.dumps(extra)], env)
    warning = ("mfa_enforce_exclude_user is not a variable of the role awssec.mfa.mfa_enforce and is ignored: "
               "did you mean mfa_enforce_exclude_users?")
    assert warning in " ".join(process.stderr.split()) and process.stderr.count("mfa_enforce_exclude_user is not") == 1
    assert "mfa_enforce_max_affected is not" not in process.stderr


def test_a_warning_run_speaks_of_a_warning_not_of_check_mode(demo, env):
    """As the MFA guard runs the role without mfa_guard_enforce: no --check was given, and a warning takes no access."""
    before = account_state(demo.iam)
    result, text, dummy = enforce(demo.server, env, mfa_enforce_notify_warn_only=True, **DEMO)
    assert account_state(demo.iam) == before and all(e["result"] == "planned" for e in result["actions"])
    assert "[WARNING ONLY] Nothing was changed" in text and "would lose AWS access, once enforced," in text
    assert "CHECK MODE" not in text and "--check" not in text and "will lose" not in text


def test_more_targets_than_max_affected_fails_and_changes_nothing(demo, env):
    before = account_state(demo.iam)
    result, dummy, process = enforce(demo.server, env, check=False, mfa_enforce_exclude_users=EXCLUDE_USERS, mfa_enforce_max_affected=3)
    assert process.returncode != 0 and result["failed"]
    assert "14 users would be acted on, more than max_affected=3; nothing was changed" in result["msg"]
    assert "bob.wilson" in result["msg"] and len(result["users"]) == 14
    assert account_state(demo.iam) == before


def test_one_user_failing_does_not_stop_the_others(demo, env):
    def deny_bob(params):
        if params.get("UserName") == "bob.wilson":
            return 403, "AccessDenied", "User is not authorized to perform: iam:AttachUserPolicy"
        return None

    def delete_jo_first(params):
        # jo.smith is deleted after gathering, right before enforcement reads it again.
        if params.get("UserName") == "jo.smith" and "jo.smith" in iam_backend().users:
            del iam_backend().users["jo.smith"]

    demo.server.before("AttachUserPolicy", deny_bob)
    demo.server.before("ListMFADevices", delete_jo_first)
    try:
        result, dummy, process = enforce(demo.server, env, check=False, **DEMO)
    finally:
        demo.server.clear_hooks()
    assert process.returncode != 0
    by_name = {e["username"]: e for e in result["actions"]}
    assert by_name["bob.wilson"]["result"] == "failed" and "AccessDenied" in by_name["bob.wilson"]["error"]
    assert by_name["jo.smith"]["result"] == "failed" and "NoSuchEntity" in by_name["jo.smith"]["error"]
    assert "bob.wilson" in result["msg"] and "jo.smith" in result["msg"] and "done for alice.brown" in result["msg"]
    assert result["summary"]["failed"] == 2 and result["summary"]["users_affected"] == 12
    state = account_state(demo.iam)["users"]
    assert state["alice.brown"]["policies"] == [POLICY_ARN]
    assert set(state["alice.brown"]["keys"].values()) == {"Inactive"}
    assert state["bob.wilson"]["policies"] == []
    # What was recorded before the failure stays true: nothing was disabled for bob.wilson.
    assert state["bob.wilson"]["tags"]["awssec:mfa-disabled-keys"] == ""


def _enable_mfa(iam, name):
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")


def test_restore_undoes_exactly_what_was_done_for_users_with_mfa(moto_server, iam, env):
    first = _user_with_key(iam, "ana")
    already_inactive = iam.create_access_key(UserName="ana")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="ana", AccessKeyId=already_inactive, Status="Inactive")
    _user_with_key(iam, "ben", login=True)
    iam.tag_user(UserName="ana", Tags=[{"Key": "team", "Value": "data"}])
    options = {"mfa_enforce_grace_period_days": 0}

    enforced, dummy, dummy = enforce(moto_server, env, **options)
    assert planned(enforced)["ana"] == [f"disable_key:{first['AccessKeyId']}", "attach_policy"]
    _enable_mfa(iam, "ana")
    before_restore = account_state(iam)["users"]

    preview, text, dummy = enforce(moto_server, env, "--check", mfa_enforce_state="restored", **options)
    assert account_state(iam)["users"] == before_restore
    assert planned(preview) == {"ana": [f"enable_key:{first['AccessKeyId']}", "detach_policy", "remove_tags"]}
    assert "IAM MFA RESTORE PREVIEW" in text
    # As the README runs it, with the default grace period (both users are new): each listed once, with why.
    preview, text, dummy = enforce(moto_server, env, "--check", mfa_enforce_state="restored")
    assert len(re.findall(r"│ ana ", text)) == 1 and len(re.findall(r"│ ben ", text)) == 1
    assert re.search(r"│ ana .*│ MFA set up since enforcement: undo what enforcement did", text)
    assert re.search(r"│ ben .*│ Enforced earlier; still without MFA", text)
    assert "Grace period" not in text and "left alone" not in text

    restored, dummy, dummy = enforce(moto_server, env, mfa_enforce_state="restored", **options)
    by_name = {e["username"]: e for e in restored["actions"]}
    assert by_name["ana"]["result"] == "done" and restored["summary"]["keys_enabled"] == 1
    assert (by_name["ben"]["result"], by_name["ben"]["reason"]) == ("skipped", "still_without_mfa")
    state = account_state(iam)["users"]
    assert state["ana"]["keys"] == {first["AccessKeyId"]: "Active", already_inactive: "Inactive"}
    assert state["ana"]["policies"] == [] and state["ana"]["tags"] == {"team": "data"}
    assert state["ben"] == before_restore["ben"]  # still without MFA: left as enforcement left it
    assert set(state["ben"]["tags"]) == set(RECORD_TAGS) | {"awssec:mfa-attached-policy"} and state["ben"]["policies"] == [POLICY_ARN]

    again, dummy, dummy = enforce(moto_server, env, mfa_enforce_state="restored", **options)
    assert again["changed"] is False and account_state(iam)["users"] == state


def _keys_protection(env):
    """Each user's keys_mfa_protected and reasons, as iam_mfa_facts reports them now."""
    result = run(["ansible", "localhost", "-m", "awssec.mfa.iam_mfa_facts", "-a", "grace_period_days=0"], env)
    facts = json.loads(result.stdout[result.stdout.index("=>") + 2:])["ansible_facts"]["iam_mfa"]
    return {u["username"]: (u["keys_mfa_protected"], u["reasons"]) for u in facts["users"]}


def test_keys_of_users_with_mfa_are_protected_by_the_policy_and_stay_active(moto_server, iam, env):
    """targets keys_not_mfa_protected: the same user's keys work without MFA before, need it after (keys left active)."""
    cleo = _user_with_key(iam, "cleo", login=True)
    _enable_mfa(iam, "cleo")
    _user_with_key(iam, "dan")  # no MFA: a non-compliant target as before
    assert _keys_protection(env)["cleo"] == (False, ["keys_not_mfa_protected"])
    options = {"mfa_enforce_grace_period_days": 0}

    default, dummy, dummy = enforce(moto_server, env, "--check", **options)
    assert set(planned(default)) == {"dan"}  # cleo is compliant: not a target unless asked for
    both = {"mfa_enforce_targets": ["non-compliant", "keys_not_mfa_protected"], **options}
    before = account_state(iam)
    preview, text, dummy = enforce(moto_server, env, "--check", **both)
    assert account_state(iam) == before
    dan_key = iam.list_access_keys(UserName="dan")["AccessKeyMetadata"][0]["AccessKeyId"]
    assert planned(preview) == {"cleo": ["protect_keys"], "dan": [f"disable_key:{dan_key}", "attach_policy"]}
    by_name = {e["username"]: e for e in preview["actions"]}
    assert by_name["cleo"]["target"] == "keys_not_mfa_protected" and by_name["dan"]["target"] == "non-compliant"
    assert re.search(r"│ cleo .*│ Attach policy \(keys need MFA\) .*│ MFA set up, but the access keys work without it", text)
    assert "1 user will lose AWS access until they set up MFA" in text
    assert "Requests signed with the access keys of 1 user with MFA will be refused unless made with an MFA session" in text

    applied, dummy, dummy = enforce(moto_server, env, **both)
    assert applied["summary"]["keys_protected"] == 1 and applied["summary"]["policies_attached"] == 2
    state = account_state(iam)["users"]
    assert state["cleo"]["keys"] == {cleo["AccessKeyId"]: "Active"} and state["cleo"]["policies"] == [POLICY_ARN]
    assert state["cleo"]["tags"]["awssec:mfa-protects-keys"] == "true"
    assert _keys_protection(env)["cleo"] == (True, [])  # the same user, now covered by RequireMFA
    again, dummy, dummy = enforce(moto_server, env, **both)
    assert again["changed"] is False

    _enable_mfa(iam, "dan")
    restored, dummy, dummy = enforce(moto_server, env, mfa_enforce_state="restored", **options)
    assert set(planned(restored)) == {"dan"}  # the policy that protects cleo's keys stays
    assert any("the policy stays attached: it makes this user's access keys need MFA" in w for w in restored["warnings"])
    assert account_state(iam)["users"]["cleo"]["policies"] == [POLICY_ARN]
    undone, dummy, dummy = enforce(moto_server, env, mfa_enforce_state="restored", **both)
    assert planned(undone) == {"cleo": ["detach_policy", "remove_tags"]}
    assert account_state(iam)["users"]["cleo"] == dict(state["cleo"], policies=[], tags={})


@pytest.mark.parametrize("variables, message", [
    ({"mfa_enforce_policy_name": "Require MFA!"}, "policy_name 'Require MFA!' is not a valid IAM policy name"),
    ({"mfa_enforce_max_affected": -1}, "max_affected must be 0 or more"),
    ({"mfa_enforce_targets": ["keys_not_mfa_protected"], "mfa_enforce_attach_policy": False},
     "targets keys_not_mfa_protected attaches the policy: it needs attach_policy=true"),
    ({"mfa_enforce_policy_options": {"allow_without_mfa": ["s3:*"]}}, "policy_options: allow_without_mfa: 's3:*' would allow a whole service"),
])
def test_bad_input_is_refused_by_name_and_nothing_changes(moto_server, iam, env, variables, message):
    _user_with_key(iam, "ana")
    before = account_state(iam)
    result, dummy, process = enforce(moto_server, env, check=False, mfa_enforce_grace_period_days=0, **variables)
    assert process.returncode != 0 and message in result["msg"]
    assert account_state(iam) == before


def sns_inbox(url, user=None, topic_name="mfa-notices"):
    """An SNS topic with an SQS queue subscribed to it: what is published to the topic lands in the queue
    (with ``user``, only that user's messages: the subscription filters on the attribute iam_user)."""
    import boto3

    keys = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    sns, sqs = boto3.client("sns", **keys), boto3.client("sqs", **keys)
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    queue = sqs.create_queue(QueueName=re.sub(r"[^A-Za-z0-9_-]", "-", f"{topic_name}-{user or 'all'}"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps({"iam_user": [user]})} if user else {}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)

    def received():
        messages = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                body = json.loads(message["Body"])
                user = re.match(r"Hello (\S+),", body["Message"]).group(1)
                messages.append((user, body["Subject"], body["Message"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return topic, received


def publish_task(process) -> dict:
    """The result of the role's SNS task in a run of ``enforce``."""
    tasks = json.loads(process.stdout)["plays"][0]["tasks"]
    return next(t["hosts"]["localhost"] for t in tasks if "Publish one message per user" in t["task"]["name"])


def test_notifications_warn_before_and_notify_after_enforcement_through_sns(demo, env):
    topic, received = sns_inbox(demo.server.url)
    notify = dict(DEMO, mfa_enforce_notify_channels=["sns"], mfa_enforce_notify_sns_topic=topic,
                  mfa_enforce_notify_support_contact="security@example.com")
    before = account_state(demo.iam)

    preview, dummy, process = enforce(demo.server, env, "--check", **notify)
    assert received() == []  # --check sends nothing
    would = publish_task(process)  # but says what it would send: every target's notice, from one module run
    assert sorted(n["user"] for n in would["published"]) == sorted(planned(preview)) and would["changed"]

    warned, dummy, process = enforce(demo.server, env, mfa_enforce_notify_warn_only=True, **notify)
    assert account_state(demo.iam) == before  # a warning run changes nothing in IAM
    targets = sorted(planned(warned))
    warnings = received()
    assert sorted(user for user, dummy, dummy in warnings) == targets and targets
    assert sorted(n["user"] for n in publish_task(process)["published"]) == targets
    assert {n["topic_arn"] for n in publish_task(process)["published"]} == {topic}
    for user, subject, text in warnings:
        assert subject.startswith("Action required: set up MFA on your AWS user before 20")
        assert f"Your AWS IAM user {user} in account 123456789012 has no MFA device" in text
        assert "Assign MFA device" in text and "Questions: security@example.com" in text

    enforced, dummy, dummy = enforce(demo.server, env, **notify)
    done = sorted(e["username"] for e in enforced["actions"] if e["result"] == "done" and e["actions"])
    notices = received()
    assert sorted(user for user, dummy, dummy in notices) == done == targets
    user, subject, text = notices[0]
    assert subject == "MFA is now enforced on your AWS user" and "attach_policy" in text


@pytest.mark.both_ends("module:sns_user_notice")
def test_each_users_sns_notice_reaches_only_that_users_subscription(demo, env):
    notify = dict(DEMO, mfa_enforce_notify_channels=["sns"], mfa_enforce_notify_warn_only=True)
    targets = sorted(planned(enforce(demo.server, env, "--check", **DEMO)[0]))
    first, second = targets[:2]
    topic, everyone = sns_inbox(demo.server.url)
    dummy, first_inbox = sns_inbox(demo.server.url, first)
    dummy, second_inbox = sns_inbox(demo.server.url, second)
    enforce(demo.server, env, mfa_enforce_notify_sns_topic=topic, **notify)
    assert [user for user, dummy, dummy in first_inbox()] == [first]
    assert [user for user, dummy, dummy in second_inbox()] == [second]
    assert sorted(user for user, dummy, dummy in everyone()) == targets  # a subscription without a filter gets all
    # Or a topic per user: the map sends that user's notice there, and everyone else's to the shared topic.
    own, own_inbox = sns_inbox(demo.server.url, topic_name=re.sub(r"[^A-Za-z0-9_-]", "-", f"mfa-{first}"))
    enforce(demo.server, env, mfa_enforce_notify_sns_topic=topic, mfa_enforce_notify_sns_topic_map={first: own}, **notify)
    assert [user for user, dummy, dummy in own_inbox()] == [first]
    assert sorted(user for user, dummy, dummy in everyone()) == [t for t in targets if t != first]

    # A topic that does not exist: the error names it, and no notice is published, not even those whose topic exists.
    notices = [{"user": first, "body": "Hello"}, {"user": second, "body": "Hello", "topic": "no-such-topic"}]
    refused = run(["ansible", "localhost", "-m", "awssec.mfa.sns_user_notice", "-a", json.dumps({"topic": topic, "notices": notices})], env, check=False)
    assert refused.returncode != 0 and "topic: no SNS topic named no-such-topic" in refused.stdout
    assert everyone() == [] and first_inbox() == []
    # One notice, as the module took it before notices existed.
    alone = {"topic": topic, "user": first, "subject": "MFA", "body": f"Hello {first},"}
    one = run(["ansible", "localhost", "-m", "awssec.mfa.sns_user_notice", "-a", json.dumps(alone)], env)
    assert '"message_id"' in one.stdout and [user for user, dummy, dummy in first_inbox()] == [first]


def test_email_notifications_reach_each_user_through_smtp(demo, env):
    from tests.support.smtp_sink import SMTPSink

    with SMTPSink() as sink:
        warned, dummy, dummy = enforce(demo.server, env, **DEMO, mfa_enforce_notify_warn_only=True, mfa_enforce_notify_channels=["email"],
                                       mfa_enforce_notify_smtp_host="127.0.0.1", mfa_enforce_notify_smtp_port=sink.port,
                                       mfa_enforce_notify_email_from="security@example.com", mfa_enforce_notify_email_domain="example.com",
                                       mfa_enforce_notify_email_map={"bob.wilson": "bob@elsewhere.example"})
    targets = sorted(planned(warned))
    addresses = {"bob.wilson": "bob@elsewhere.example"}
    assert sorted(m["To"] for m in sink.messages) == sorted(addresses.get(t, f"{t}@example.com") for t in targets)
    for message in sink.messages:
        assert message["From"] == "security@example.com" and message["Subject"].startswith("Action required: set up MFA")
        assert "Assign MFA device" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_custom_template_gets_documented_names_and_an_undefined_one_fails_naming_the_template(demo, env, tmp_path):
    """{{ username }} used to render "?" with no error: a template gets documented names (the role's argument specs), and
    a name that is none of them, nor a variable of the play, fails before any message is sent."""
    from tests.support.smtp_sink import SMTPSink

    good, bad = tmp_path / "good.txt.j2", tmp_path / "bad.txt.j2"
    good.write_text("Dear {{ username }} of {{ account_id }}: by {{ deadline }} ({{ justification }}; {{ actions | join(',') }}; "
                    "warning={{ warning }}; {{ consequences }}).\n")
    bad.write_text("Dear {{ username }}, {{ user_name }}\n")
    mail = dict(DEMO, mfa_enforce_notify_warn_only=True, mfa_enforce_notify_channels=["email"], mfa_enforce_notify_smtp_host="127.0.0.1",
                mfa_enforce_notify_email_from="security@example.com", mfa_enforce_notify_email_domain="example.com")
    with SMTPSink() as sink:
        warned, dummy, dummy = enforce(demo.server, env, **mail, mfa_enforce_notify_smtp_port=sink.port,
                                       mfa_enforce_notify_warning_template=str(good))
        bodies = {m["To"]: m.get_body(preferencelist=("plain",)).get_content() for m in sink.messages}
    assert len(bodies) == len(planned(warned)) > 0
    for name, actions in planned(warned).items():
        body = bodies[f"{name}@example.com"]
        assert body.startswith(f"Dear {name} of 123456789012: by 20") and f"{','.join(actions)}; warning=True; its active" in body
    with SMTPSink() as sink:
        env_json = dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        extra = dict(mail, mfa_enforce_aws_endpoint_url=demo.server.url, mfa_enforce_notify_smtp_port=sink.port,
                     mfa_enforce_notify_warning_template=str(bad))
        process = run(["ansible-playbook", "awssec.mfa.enforce", "-e", json.dumps(extra)], env_json, check=False)
        assert process.returncode != 0 and sink.messages == []
    assert (f"The notification template {bad} uses user_name, which is not defined: a template gets username, account_id, justification, actions, "
            "warning, deadline, consequences, setup_url, support_contact") in process.stdout


@pytest.mark.parametrize("region, partition", [("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn")])
def test_enforcement_in_another_partition_is_applied_once_and_restored(moto_server, env, region, partition):
    """GovCloud and China: the policy is found again by its ARN in that partition (an arn:aws: ARN made the second run
    fail with EntityAlreadyExists), and its resources are that partition's (arn:aws: ones match nothing there)."""
    import boto3

    from tests.support.moto_server import CREDENTIALS

    iam = boto3.client("iam", endpoint_url=moto_server.url, region_name=region, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    iam.create_user(UserName="ana.console")
    iam.create_login_profile(UserName="ana.console", Password="Initial-Passw0rd!")
    arn = f"arn:{partition}:iam::123456789012:policy/RequireMFA"
    options = {"mfa_enforce_aws_region": region, "mfa_enforce_grace_period_days": 0}

    first, dummy, dummy = enforce(moto_server, env, **options)
    assert first["changed"] and first["policy_arn"] == arn and first["policy_change"] == "create"
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="ana.console")["AttachedPolicies"]] == [arn]
    version = iam.get_policy_version(PolicyArn=arn, VersionId=iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"])
    resources = {s["Resource"] for s in version["PolicyVersion"]["Document"]["Statement"]} - {"*"}
    assert resources == {f"arn:{partition}:iam::*:mfa/*", f"arn:{partition}:iam::*:user/${{aws:username}}"}

    again, dummy, dummy = enforce(moto_server, env, **options)
    assert again["changed"] is False and again["policy_change"] == "none"

    _enable_mfa(iam, "ana.console")  # restoring is for users who set up MFA
    restored, dummy, dummy = enforce(moto_server, env, mfa_enforce_state="restored", **options)
    assert restored["changed"] and restored["policy_arn"] == arn and planned(restored) == {"ana.console": ["detach_policy", "remove_tags"]}
    assert iam.list_attached_user_policies(UserName="ana.console")["AttachedPolicies"] == []


def test_restoring_leaves_the_policy_an_administrator_attached(moto_server, iam, env):
    """restored detached RequireMFA wherever it was attached, also where an administrator had attached it."""
    ana, cy = _user_with_key(iam, "ana"), _user_with_key(iam, "cy")
    options = {"mfa_enforce_grace_period_days": 0}
    enforce(moto_server, env, mfa_enforce_include_users=["cy"], **options)  # the policy exists, attached to cy by enforcement
    iam.attach_user_policy(UserName="ana", PolicyArn=POLICY_ARN)  # by an administrator
    enforced, dummy, dummy = enforce(moto_server, env, **options)
    assert planned(enforced) == {"ana": [f"disable_key:{ana['AccessKeyId']}"]}
    for name in ("ana", "cy"):
        _enable_mfa(iam, name)

    restored, dummy, process = enforce(moto_server, env, mfa_enforce_state="restored", **options)
    assert planned(restored) == {"ana": [f"enable_key:{ana['AccessKeyId']}", "remove_tags"],
                                 "cy": [f"enable_key:{cy['AccessKeyId']}", "detach_policy", "remove_tags"]}
    state = account_state(iam)["users"]
    assert state["ana"]["policies"] == [POLICY_ARN] and state["cy"]["policies"] == []
    note = "the policy stays attached: this tool did not record attaching it (an administrator did, or an earlier version)"
    assert next(e for e in restored["actions"] if e["username"] == "ana")["notes"] == [note]
    assert f"ana: {note}" in process.stdout + process.stderr


def test_a_policy_of_the_same_name_that_is_not_ours_is_never_changed(moto_server, iam, env):
    _user_with_key(iam, "ana")
    theirs = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    iam.create_policy(PolicyName="RequireMFA", PolicyDocument=json.dumps(theirs))
    before = account_state(iam)
    for flags in (("--check",), ()):
        result, dummy, process = enforce(moto_server, env, *flags, check=False, mfa_enforce_grace_period_days=0)
        assert process.returncode != 0
        assert f"{POLICY_ARN} exists with another document and is not this collection's (it has no awssec:mfa-managed tag)" in result["msg"]
        assert account_state(iam) == before  # no user touched, the policy has one version
    assert len(iam.list_policy_versions(PolicyArn=POLICY_ARN)["Versions"]) == 1


@contextlib.contextmanager
def _slow_report(moto_server):
    """AWS takes seconds to make a credential report: within this, one is dated more than a second after the run began."""
    moto_server.before("GenerateCredentialReport", lambda params: time.sleep(1.2))
    try:
        yield
    finally:
        moto_server.clear_hooks()


def test_enforcing_again_with_the_same_cached_report_finds_nothing_to_do(moto_server, iam, env):
    """The second run gets the report the first run had generated (AWS keeps one for 4 hours), which still shows the keys
    active: the users the first run changed are read live, so none is counted against max_affected=0."""
    for name in ("ana", "ben", "cy"):
        _user_with_key(iam, name, login=True)
    options = {"mfa_enforce_grace_period_days": 0, "mfa_enforce_max_affected": 3}
    with _slow_report(moto_server):
        first, dummy, dummy = enforce(moto_server, env, **options)
    assert first["summary"]["keys_disabled"] == 3
    moto_server.reset_counts()
    options["mfa_enforce_max_affected"] = 0
    again, dummy, process = enforce(moto_server, env, **options)
    assert moto_server.actions["GenerateCredentialReport"] == 1 and moto_server.actions["GetCredentialReport"] == 1  # cached
    assert process.returncode == 0 and not again["changed"] and again["summary"]["users_affected"] == 0
    tags = account_state(iam)["users"]["ana"]["tags"]
    assert tags["awssec:mfa-changed-at"] >= tags["awssec:mfa-enforced-at"]


def test_max_affected_counts_the_live_plans(moto_server, iam, env):
    """Gathered, the users were enforced with nothing left to do; right after gathering, their keys were re-activated."""
    for name in ("ana", "ben", "cy"):
        _user_with_key(iam, name, login=True)
    options = {"mfa_enforce_grace_period_days": 0, "mfa_enforce_max_affected": 3}
    with _slow_report(moto_server):
        enforce(moto_server, env, **options)

    def reactivate(params):  # GetAccountSummary is the last call of gathering
        for name in ("ana", "ben", "cy"):
            for key in iam_backend().users[name].access_keys:
                key.status = "Active"

    moto_server.before("GetAccountSummary", reactivate)
    options["mfa_enforce_max_affected"] = 1
    try:
        result, dummy, process = enforce(moto_server, env, check=False, **options)
    finally:
        moto_server.clear_hooks()
    before = account_state(iam)
    assert all(status == "Active" for user in before["users"].values() for status in user["keys"].values())
    assert process.returncode != 0 and result["users"] == ["ana", "ben"]
    assert "more than max_affected=1 users would be acted on as they are now (read live, stopped at 2); nothing was changed" in result["msg"]


def test_disable_console_access_deletes_passwords_but_not_the_callers_and_restoring_says_it_cannot(moto_server, iam, env):
    admin = _user_with_key(iam, "ops.admin", login=True)
    _user_with_key(iam, "ana", login=True)
    caller_env = dict(env, AWS_ACCESS_KEY_ID=admin["AccessKeyId"], AWS_SECRET_ACCESS_KEY=admin["SecretAccessKey"])
    options = {"mfa_enforce_grace_period_days": 0, "mfa_enforce_disable_console_access": True}

    preview, dummy, dummy = enforce(moto_server, caller_env, "--check", **options)
    assert planned(preview)["ana"][-1] == "delete_login_profile" and account_state(iam)["users"]["ana"]["console"] is True
    enforced, dummy, dummy = enforce(moto_server, caller_env, **options)
    results = {e["username"]: (e["result"], e.get("reason")) for e in enforced["actions"]}
    assert results == {"ops.admin": ("skipped", "caller_identity"), "ana": ("done", None)}
    assert enforced["summary"]["consoles_disabled"] == 1
    state = account_state(iam)["users"]
    assert state["ana"]["console"] is False and state["ops.admin"]["console"] is True
    assert state["ana"]["tags"]["awssec:mfa-deleted-console"] == "true"

    _enable_mfa(iam, "ana")
    restored, dummy, process = enforce(moto_server, caller_env, mfa_enforce_state="restored", **options)
    ana = next(e for e in restored["actions"] if e["username"] == "ana")
    note = "the console password deleted by enforcement cannot be restored: an administrator must set a new one"
    assert ana["result"] == "done" and ana["notes"] == [note] and f"ana: {note}" in process.stdout + process.stderr
    assert account_state(iam)["users"]["ana"]["console"] is False and "awssec:mfa-deleted-console" not in account_state(iam)["users"]["ana"]["tags"]


def test_a_policy_of_the_same_name_at_another_path_is_refused_by_name_in_check_mode_too(moto_server, iam, env):
    """IAM allows one customer managed policy of a name at any path (the AWS-like server answers CreatePolicy as AWS does):
    a run once called GetPolicy and CreatePolicy 960 times, then failed on recursion, while --check said 'create'."""
    ana = _user_with_key(iam, "ana", login=True)
    theirs = iam.create_policy(PolicyName="RequireMFA", Path="/security/", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))["Policy"]["Arn"]
    before = account_state(iam)
    for flags in (["--check"], []):
        moto_server.reset_counts()
        result, dummy, process = enforce(moto_server, env, *flags, check=False, mfa_enforce_grace_period_days=0)
        assert process.returncode != 0, flags
        assert f"A policy named RequireMFA exists at another path ({theirs})" in process.stdout, flags
        assert moto_server.actions["CreatePolicy"] == 0 and moto_server.actions["GetPolicy"] == 1, flags
    assert account_state(iam) == before and ana
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):  # the server answers as AWS does
        iam.create_policy(PolicyName="RequireMFA", PolicyDocument=json.dumps(mfa_policy()))


def test_a_failed_action_then_restore_undoes_nothing_of_the_administrators(moto_server, iam, env):
    """The second key's UpdateAccessKey fails: the record says the first key alone was disabled, and no policy attached.
    An administrator then disables the second key and attaches RequireMFA; the user sets up MFA; restoring re-activates
    the first key only, and leaves the administrator's key and policy as they are."""
    _user_with_key(iam, "ana", login=True)
    iam.create_access_key(UserName="ana")
    disabled = []  # the keys in the order enforcement disables them (the order of their ids): the second one's call fails

    def fail_the_second_key(params):
        if params["AccessKeyId"] not in disabled:
            disabled.append(params["AccessKeyId"])
        return (500, "ServiceFailure", "injected") if params["AccessKeyId"] == disabled[-1] and len(disabled) > 1 else None
    moto_server.before("UpdateAccessKey", fail_the_second_key)
    try:
        failed, dummy, process = enforce(moto_server, env, check=False, mfa_enforce_grace_period_days=0)
    finally:
        moto_server.clear_hooks()
    first, second = disabled
    assert process.returncode != 0 and [a["result"] for a in failed["actions"]] == ["failed"]
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName="ana")["Tags"]}
    assert tags["awssec:mfa-disabled-keys"] == first and "awssec:mfa-attached-policy" not in tags and tags["awssec:mfa-pending"] == ""

    iam.update_access_key(UserName="ana", AccessKeyId=second, Status="Inactive")  # the administrator's hand
    arn = "arn:aws:iam::123456789012:policy/RequireMFA"
    iam.attach_user_policy(UserName="ana", PolicyArn=arn)
    _enable_mfa(iam, "ana")
    restored, dummy, dummy = enforce(moto_server, env, mfa_enforce_state="restored")
    assert planned(restored) == {"ana": [f"enable_key:{first}", "remove_tags"]}
    assert key_statuses(iam, "ana") == {first: "Active", second: "Inactive"}
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="ana")["AttachedPolicies"]] == [arn]


def key_statuses(iam, name):
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}
