# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SQS messages as untrusted input (module_utils/iam_events.py): what AWS can send passes; a template, a wrong type, a
body too big or too deep, an account or partition the event contradicts is refused - and nothing ever raises anything
but BadMessage, whatever the body (property tests)."""

import json
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.awssec.mfa.plugins.module_utils.iam_events import (
    FIELDS,
    MAX_BODY,
    MAX_DEPTH,
    BadMessage,
    by_account,
    check_change,
    checked_event,
    checked_events,
    iam_change,
    nesting,
    parse,
    partition_of_region,
)
from tests.support.examples import examples
from tests.support.iam_events import ACCOUNT_ID, cloudtrail_event, message

JINJA = "{{ lookup('ansible.builtin.pipe', 'id > PWNED') }}"
SQS = {"queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/iam-changes", "message_id": "5fea7756-0ea4-451a-a703-a558b933e274",
       "receipt_handle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a+/="}


def tampered(path, value, action="CreateLoginProfile", **kwargs):
    """The body of a CreateLoginProfile event (or ``action``'s) with the field at ``path`` (keys from the top) set to ``value``."""
    event = cloudtrail_event(action, request={"userName": "pat.new"}, **kwargs)
    holder = event
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return json.dumps(event)


def test_an_event_as_aws_sends_it_is_a_change_of_its_account_and_partition():
    change = iam_change(message("CreateLoginProfile", request={"userName": "pat.new"}))
    assert set(change) == set(FIELDS) and not check_change(change)
    assert (change["user"], change["account_id"], change["partition"]) == ("pat.new", ACCOUNT_ID, "aws")
    china = iam_change(message("CreateUser", request={"userName": "li"}, partition="aws-cn", region="cn-north-1"))
    assert china["partition"] == "aws-cn" and china["caller"].startswith("arn:aws-cn:iam::")
    gov = iam_change(message("CreateAccessKey", request={"userName": "g"}, partition="aws-us-gov", region="us-gov-west-1"))
    assert gov["partition"] == "aws-us-gov"


@pytest.mark.parametrize("path", [
    ("detail", "requestParameters", "userName"),
    ("detail", "userIdentity", "arn"),
    ("detail", "recipientAccountId"),
    ("account",),
    ("detail", "eventTime"),
    ("detail", "eventID"),
    ("detail", "awsRegion"),
])
def test_a_template_in_any_field_is_refused_naming_the_field_never_its_value(path):
    with pytest.raises(BadMessage) as refused:
        iam_change(tampered(path, JINJA))
    assert "{{" not in str(refused.value) and "lookup" not in str(refused.value)


def test_a_template_in_the_callers_name_the_device_or_the_status_is_refused():
    caller_named = cloudtrail_event("CreateAccessKey", request=None)
    caller_named["detail"]["userIdentity"]["userName"] = JINJA  # the call names no user: the caller's name is the user
    serial = cloudtrail_event("DeactivateMFADevice", request={"userName": "dora", "serialNumber": JINJA})
    status = cloudtrail_event("UpdateAccessKey", request={"userName": "bob", "accessKeyId": "AKIA1", "status": JINJA})
    for event in (caller_named, serial, status):
        with pytest.raises(BadMessage, match=r"iam_change\.(user|serial|status) is not"):
            iam_change(json.dumps(event))


def test_a_template_as_the_action_is_no_call_the_guard_watches():
    assert iam_change(tampered(("detail", "eventName"), JINJA)) is None


@pytest.mark.parametrize("path, value, why", [
    (("detail", "requestParameters"), "userName=pat", "requestParameters is not an object"),
    (("detail", "requestParameters"), ["pat"], "requestParameters is not an object"),
    (("detail", "responseElements"), "ok", "responseElements is not an object"),
    (("detail", "userIdentity"), ["admin"], "userIdentity is not an object"),
    (("detail", "requestParameters", "userName"), ["pat"], "iam_change.user is not an IAM user name"),
    (("detail", "requestParameters", "userName"), {"a": 1}, "iam_change.user is not an IAM user name"),
    (("detail", "requestParameters", "userName"), "x" * 65, "iam_change.user is not an IAM user name"),
    (("detail", "eventID"), 7, "iam_change.event_id"),
    (("detail",), ["a", "list"], "detail is not an object"),
])
def test_a_field_of_the_wrong_type_or_value_is_a_bad_message(path, value, why):
    with pytest.raises(BadMessage, match=why):
        iam_change(tampered(path, value))


def test_a_wrong_type_in_the_answer_of_a_call_that_names_the_user_there_is_a_bad_message():
    body = message("CreateUser", request={}, response={"user": "carol"})
    with pytest.raises(BadMessage, match="user is not an object"):
        iam_change(body)


def test_an_account_or_partition_the_event_contradicts_is_a_bad_message():
    with pytest.raises(BadMessage, match="account"):
        iam_change(tampered(("account",), "999999999999"))
    with pytest.raises(BadMessage, match="another partition or account"):
        iam_change(message("CreateLoginProfile", request={"userName": "victim.x"}, partition="aws-cn"))  # a China caller, a us-east-1 event
    with pytest.raises(BadMessage, match="another partition or account"):
        iam_change(tampered(("detail", "userIdentity", "arn"), "arn:aws:iam::999999999999:user/admin"))
    with pytest.raises(BadMessage, match="Regions of different partitions"):
        iam_change(tampered(("detail", "awsRegion"), "cn-north-1"))


@pytest.mark.parametrize("body", [
    "[" * 200_000 + "]" * 200_000,
    json.dumps({"Type": "Notification", "Message": "[" * 200_000 + "]" * 200_000}),
    '{"detail": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
])
def test_a_deeply_nested_body_is_refused_before_the_parser_sees_it(body):
    with pytest.raises(BadMessage, match="nests"):
        iam_change(body)


def test_a_body_larger_than_sqs_allows_is_refused_and_one_at_the_limit_is_read():
    with pytest.raises(BadMessage, match="more than"):
        parse('"' + "a" * MAX_BODY + '"')
    assert parse('"' + "a" * (MAX_BODY - 2) + '"') == "a" * (MAX_BODY - 2)


@pytest.mark.parametrize("body", ["not json", json.dumps(["a list"]), json.dumps({"Type": "Notification", "Message": 3}), b"bytes", None])
def test_what_is_not_a_json_object_is_a_bad_message(body):
    with pytest.raises(BadMessage):
        iam_change(body)


@pytest.mark.parametrize("text, depth", [
    ('{"a": "[[[[{{{{"}', 1),
    ('[["\\"[[[", "\\\\"], [[1]]]', 3),
    ('"]]]]"', 0),
    ("[]" * 50, 1),
])
def test_nesting_counts_brackets_outside_strings_only(text, depth):
    assert nesting(text) == depth


def test_partitions_of_regions():
    assert [partition_of_region(r) for r in ("us-east-1", "cn-north-1", "us-gov-west-1", "us-isob-east-1", "eu-isoe-west-1", "xx", None)] == [
        "aws", "aws-cn", "aws-us-gov", "aws-iso-b", "aws-iso-e", None, None]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=30)
FIELD_VALUES = st.one_of(JSON, st.sampled_from([JINJA, "pat.new", ACCOUNT_ID, "arn:aws:iam::123456789012:user/a", "us-east-1", "Active"]))
PATHS = st.sampled_from([("detail",), ("detail", "requestParameters"), ("detail", "responseElements"), ("detail", "userIdentity"),
                         ("detail", "requestParameters", "userName"), ("detail", "requestParameters", "serialNumber"),
                         ("detail", "userIdentity", "userName"), ("detail", "userIdentity", "type"), ("detail", "eventName"),
                         ("detail", "recipientAccountId"), ("account",), ("region",), ("detail", "eventID"), ("Type",)])


def _only_bad_or_safe(body):
    try:
        change = iam_change(body)
    except BadMessage:
        return
    if change is not None:
        assert not check_change(change)
        assert not any(c in str(v) for v in change.values() if v is not None for c in "{}%#\n"), change


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.tuples(PATHS, FIELD_VALUES), max_size=4), st.sampled_from(["CreateLoginProfile", "CreateAccessKey", "UpdateAccessKey",
                                                                              "DeactivateMFADevice", "DeleteVirtualMFADevice"]))
def test_any_tampering_of_an_event_is_refused_or_yields_a_checked_change(edits, action):
    event = cloudtrail_event(action, request={"userName": "pat.new", "status": "Active", "serialNumber": "GAHT12345678"})
    for path, value in edits:
        holder = event
        for key in path[:-1]:
            if not isinstance(holder.get(key), dict):
                holder[key] = {}
            holder = holder[key]
        holder[path[-1]] = value
    _only_bad_or_safe(json.dumps(event))


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(JSON.map(json.dumps), st.text(alphabet=string.printable + "[]{}\"\\", max_size=300)))
def test_any_body_is_refused_or_read_never_an_other_error(body):
    _only_bad_or_safe(body)


def event_of(body):
    return {"iam_change": iam_change(body), "sqs": dict(SQS), "meta": {"source": {"name": "awssec.mfa.iam_changes"}, "uuid": "x"}}


def test_an_event_of_the_source_is_checked_and_returned_as_plain_data_without_meta():
    event = event_of(message("CreateLoginProfile", request={"userName": "pat.new"}))

    class Tagged(str):  # Ansible passes its variables' strings as subclasses of str that carry tags
        pass

    event["iam_change"]["user"] = Tagged("pat.new")
    checked = checked_event(event)
    assert checked == {"iam_change": dict(event["iam_change"], user="pat.new"), "sqs": SQS}
    assert checked["iam_change"]["user"].__class__ is str


@pytest.mark.parametrize("part, field", [("iam_change", f) for f in FIELDS] + [("sqs", f) for f in SQS])
def test_a_template_in_any_field_of_an_event_is_refused_naming_the_field(part, field):
    event = event_of(message("UpdateAccessKey", request={"userName": "bob", "status": "Active", "serialNumber": "GAHT12345678"}))
    event[part][field] = JINJA
    with pytest.raises(BadMessage) as refused:
        checked_event(event)
    assert f"{part}.{field} " in str(refused.value) and "{{" not in str(refused.value)


def test_an_event_with_parts_or_fields_of_its_own_is_refused():
    event = event_of(message("CreateUser", request={"userName": "carol"}))
    with pytest.raises(BadMessage, match=r"^extra is not a part.*; iam_change\.extra is not a field"):
        checked_event(dict(event, extra=1, iam_change=dict(event["iam_change"], extra=JINJA)))
    for wrong in (None, [], "text", {"iam_change": "text", "sqs": SQS}):
        with pytest.raises(BadMessage):
            checked_event(wrong)


@pytest.mark.parametrize("action, request_, fields", [
    ("EnableMFADevice", {"userName": "bob", "serialNumber": "arn:aws:iam::123456789012:mfa/bob"},
     {"user": "bob", "serial": "arn:aws:iam::123456789012:mfa/bob"}),
    ("TagUser", {"userName": "bob", "tags": [{"key": "mfa-exempt", "value": "me"}, {"key": "team", "value": "x"}]},
     {"user": "bob", "tag_keys": ["mfa-exempt", "team"]}),
    ("UntagUser", {"userName": "bob", "tagKeys": ["mfa-exempt"]}, {"user": "bob", "tag_keys": ["mfa-exempt"]}),
    ("DetachUserPolicy", {"userName": "bob", "policyArn": "arn:aws:iam::123456789012:policy/RequireMFA"}, {"user": "bob", "policy_arn": None}),
    ("DeleteUserPolicy", {"userName": "bob", "policyName": "inline"}, {"user": "bob"}),
    ("RemoveUserFromGroup", {"userName": "bob", "groupName": "devs"}, {"user": "bob", "group": "devs"}),
    ("DetachGroupPolicy", {"groupName": "devs", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, {"user": None, "group": "devs"}),
    ("DeleteGroupPolicy", {"groupName": "devs", "policyName": "inline"}, {"user": None, "group": "devs"}),
    ("DeletePolicy", {"policyArn": "arn:aws:iam::123456789012:policy/RequireMFA"},
     {"user": None, "policy_arn": "arn:aws:iam::123456789012:policy/RequireMFA"}),
    ("CreatePolicyVersion", {"policyArn": "arn:aws:iam::123456789012:policy/RequireMFA", "setAsDefault": True},
     {"user": None, "policy_arn": "arn:aws:iam::123456789012:policy/RequireMFA"}),
    ("SetDefaultPolicyVersion", {"policyArn": "arn:aws:iam::123456789012:policy/P", "versionId": "v2"},
     {"user": None, "policy_arn": "arn:aws:iam::123456789012:policy/P"}),
])
def test_mfa_set_up_exemptions_and_what_protects_keys_are_changes_with_what_they_concern(action, request_, fields):
    change = iam_change(message(action, request=request_, caller="admin"))
    assert change["action"] == action and not check_change(change)
    assert {key: change[key] for key in fields} == fields  # a group's or policy's change is not about its caller


@pytest.mark.parametrize("action, request_, why", [
    ("TagUser", {"userName": "bob", "tags": [{"key": JINJA, "value": "x"}]}, "iam_change.tag_keys is not a list"),
    ("TagUser", {"userName": "bob", "tags": "mfa-exempt"}, "requestParameters.tags is not a list of tags"),
    ("UntagUser", {"userName": "bob", "tagKeys": ["k"] * 51}, "iam_change.tag_keys is not a list of at most 50"),
    ("DetachGroupPolicy", {"groupName": JINJA}, "iam_change.group is not an IAM group name"),
    ("DeletePolicy", {"policyArn": "arn:aws:iam::999999999999:policy/P"}, "iam_change.policy_arn names another partition or account"),
    ("DeletePolicy", {"policyArn": JINJA}, "iam_change.policy_arn is not the ARN it should be"),
])
def test_a_tag_group_or_policy_that_aws_cannot_send_is_a_bad_message(action, request_, why):
    with pytest.raises(BadMessage, match=re.escape(why)) as refused:
        iam_change(message(action, request=request_))
    assert "{{" not in str(refused.value)


def test_a_batch_is_checked_event_by_event_and_grouped_by_account():
    events = [event_of(message("CreateLoginProfile", request={"userName": "bob"})),
              event_of(message("DetachGroupPolicy", request={"groupName": "devs"}, account_id="111111111111")),
              event_of(message("CreateAccessKey", request={"userName": "bob"})),
              event_of(message("TagUser", request={"userName": "ann", "tags": []}))]
    checked = checked_events({"iam_changes": events, "meta": {"uuid": "x"}})
    assert [c["iam_change"]["action"] for c in checked] == ["CreateLoginProfile", "DetachGroupPolicy", "CreateAccessKey", "TagUser"]
    assert checked_events(events[0]) == [checked[0]]
    accounts = by_account(checked)
    assert [(a["account_id"], a["users"], a["lookups"], len(a["events"])) for a in accounts] == [
        (ACCOUNT_ID, ["bob", "ann"], False, 3), ("111111111111", [], True, 1)]
    bad = dict(events[2], iam_change=dict(events[2]["iam_change"], user=JINJA))
    with pytest.raises(BadMessage, match=r"^iam_changes\[2\]: iam_change\.user is not an IAM user name") as refused:
        checked_events({"iam_changes": [events[0], bad]})
    assert "{{" not in str(refused.value)
    for wrong in ({"iam_changes": []}, {"iam_changes": "x"}, {"iam_changes": events[:1], "extra": 1}):
        with pytest.raises(BadMessage):
            checked_events(wrong)
