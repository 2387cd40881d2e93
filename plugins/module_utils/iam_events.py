# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""IAM changes, read from SQS messages as untrusted input.

Anyone allowed to send to the MFA guard's queue (or to publish to an SNS topic subscribed to it) writes these messages,
and the guard holds IAM write permissions. So a message is parsed with a size and a nesting limit (no recursion that can
crash the process), every field is checked against what AWS can send (IAM user names, 12-digit accounts, the ARNs of
AWS's partitions, the calls the guard watches) and a message that does not match is refused whole, naming the field but
never repeating its value. What passes holds no character a template could start with: Ansible can never evaluate it.

Standard library only: ansible-rulebook loads the event source by its path, outside Ansible, and the source loads this
file by its path too; the playbook's check of an event (action iam_change_event) imports it as module_utils.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

# The IAM calls that bear on a user's MFA: a new way in (password, key, the user itself) or MFA gone; MFA set up (what
# enforcement did may be undone); the exemption tag put or taken away; what makes keys need MFA taken away (a policy
# detached or deleted from the user, their group or the policy itself, a new default version of the policy).
ACCESS_ACTIONS = ("CreateUser", "CreateLoginProfile", "UpdateLoginProfile", "CreateAccessKey", "UpdateAccessKey",
                  "DeactivateMFADevice", "DeleteVirtualMFADevice")
MFA_SET_UP_ACTIONS = ("EnableMFADevice",)
TAG_ACTIONS = ("TagUser", "UntagUser")
USER_POLICY_ACTIONS = ("DetachUserPolicy", "DeleteUserPolicy", "RemoveUserFromGroup")
GROUP_POLICY_ACTIONS = ("DetachGroupPolicy", "DeleteGroupPolicy")
POLICY_ACTIONS = ("DeletePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion")
ACTIONS = ACCESS_ACTIONS + MFA_SET_UP_ACTIONS + TAG_ACTIONS + USER_POLICY_ACTIONS + GROUP_POLICY_ACTIONS + POLICY_ACTIONS
# The fields of an IAM change, as the event source emits them (its documentation says what each holds).
FIELDS = ("action", "user", "account_id", "partition", "time", "event_id", "caller", "status", "serial", "group", "policy_arn", "tag_keys")
SQS_FIELDS = ("queue_url", "message_id", "receipt_handle")
# AWS's partitions, and the prefix of their Regions' names (the aws partition's Regions have none of these).
PARTITION_REGIONS = {"aws-cn": "cn-", "aws-us-gov": "us-gov-", "aws-iso": "us-iso-", "aws-iso-b": "us-isob-", "aws-iso-e": "eu-isoe-",
                     "aws-iso-f": "us-isof-", "aws-eusc": "eusc-"}
PARTITIONS = ("aws",) + tuple(PARTITION_REGIONS)
KEY_STATUSES = ("Active", "Inactive", "Expired")
MAX_BODY = 1024 * 1024  # characters: SQS's largest message; EventBridge's events are at most 256 KB
MAX_DEPTH = 32  # nested arrays and objects; the CloudTrail records of IAM calls nest a few levels
MAX_BATCH = 1000  # events in one batch of the source (its batch_size at most)

# Where each call's answer names the user (the request may leave the user out: the caller is meant then).
_ANSWER_USER = {"CreateUser": "user", "CreateLoginProfile": "loginProfile", "CreateAccessKey": "accessKey"}
_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_GROUP_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_POLICY_ARN = re.compile(r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):policy/[\w+=,.@/-]{1,1024}", re.ASCII)
_TAG_KEY = re.compile(r"[\w .:/=+@-]{1,128}", re.ASCII)
MAX_TAG_KEYS = 50  # IAM's limit of tags on a user
_ACCOUNT = re.compile(r"\d{12}", re.ASCII)
_ARN = re.compile(r"arn:(?P<partition>aws(?:-[a-z]+)*):(?:iam|sts)::(?P<account>\d{12}):[\w+=,.@/-]{1,1024}", re.ASCII)
_DEVICE_ARN = re.compile(r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):(?:mfa|u2f)/[\w+=,.@/-]{1,512}", re.ASCII)
_HARDWARE_SERIAL = re.compile(r"[\w+=,.@:/-]{9,256}", re.ASCII)
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z", re.ASCII)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)
_REGION = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}", re.ASCII)
_QUEUE_URL = re.compile(r"https?://[A-Za-z0-9.-]{1,253}(?::\d{1,5})?/\d{12}/[\w-]{1,80}(?:\.fifo)?", re.ASCII)
_RECEIPT_HANDLE = re.compile(r"[A-Za-z0-9+/=_-]{1,8192}", re.ASCII)
_SPECIAL = re.compile(r'[\[\]{}"\\]')

USER_NAME_RULE = "1 to 64 of letters, digits and +=,.@_-"


class BadMessage(ValueError):
    """A message that is not what AWS sends: why, without its contents."""


def _matches(pattern: "re.Pattern", value: Any) -> Optional["re.Match"]:
    return pattern.fullmatch(value) if isinstance(value, str) else None


def is_user_name(value: Any) -> bool:
    """Whether ``value`` is an IAM user name (and so holds nothing a template or a glob could start with)."""
    return _matches(_USER_NAME, value) is not None


def nesting(text: str) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest (brackets inside strings do not count), counted without
    recursion, stopping as soon as it is past MAX_DEPTH."""
    depth = deepest = 0
    in_string, escaped_at = False, -1
    for special in _SPECIAL.finditer(text):
        char, at = special.group(), special.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        elif char in "]}":
            depth -= 1
    return deepest


def parse(body: Any) -> Any:
    """The JSON value of a message body. BadMessage for what is not text, is larger than MAX_BODY, nests deeper than
    MAX_DEPTH (checked first: the JSON parser recurses) or is not JSON."""
    if not isinstance(body, str):
        raise BadMessage("the body is not text")
    if len(body) > MAX_BODY:
        raise BadMessage(f"the body has {len(body)} characters, more than {MAX_BODY}")
    if nesting(body) > MAX_DEPTH:
        raise BadMessage(f"the body nests arrays or objects more than {MAX_DEPTH} deep")
    try:
        return json.loads(body)
    except ValueError as e:
        raise BadMessage(f"the body is not JSON ({getattr(e, 'msg', 'unreadable')} at character {getattr(e, 'pos', '?')})") from None


def partition_of_region(region: Any) -> Optional[str]:
    """The partition of a Region's name (None: not a Region's name)."""
    if not _matches(_REGION, region):
        return None
    return next((partition for partition, prefix in PARTITION_REGIONS.items() if region.startswith(prefix)), "aws")


def _object(holder: Dict, key: str) -> Dict:
    """``holder[key]``, an object or absent (empty); BadMessage for anything else."""
    value = holder.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadMessage(f"{key} is not an object")
    return value


def _text(holder: Dict, key: str) -> Optional[str]:
    """``holder[key]``, text or absent (None); BadMessage for anything else."""
    value = holder.get(key)
    if value is not None and not isinstance(value, str):
        raise BadMessage(f"{key} is not text")
    return value


def iam_change(body: Any) -> Optional[Dict[str, Any]]:
    """The IAM change an SQS message body records, or None when it records none that bears on MFA (another service or
    call, a failed call, not an EventBridge event). The body is the EventBridge event, or an SNS notification that wraps
    it. BadMessage when the body is not what AWS sends: unreadable, too big or deep, a field of the wrong type or
    value, an account or partition that the event contradicts."""
    event = parse(body)
    if isinstance(event, dict) and event.get("Type") == "Notification":
        if not isinstance(event.get("Message"), str):
            raise BadMessage("the SNS notification's Message is not text")
        event = parse(event["Message"])
    if not isinstance(event, dict):
        raise BadMessage("the body is not a JSON object")
    detail = event.get("detail")
    if detail is None:
        return None
    if not isinstance(detail, dict):
        raise BadMessage("detail is not an object")
    action = detail.get("eventName")
    if detail.get("eventSource") != "iam.amazonaws.com" or action not in ACTIONS or detail.get("errorCode"):
        return None
    request, caller = _object(detail, "requestParameters"), _object(detail, "userIdentity")
    answer = _object(_object(detail, "responseElements"), _ANSWER_USER[action]) if action in _ANSWER_USER else {}
    user = request.get("userName") or answer.get("userName")
    if not user and action in ACCESS_ACTIONS and action != "DeleteVirtualMFADevice" and caller.get("type") == "IAMUser":
        user = caller.get("userName")  # the call named no user: IAM acted on the caller
    accounts = {_text(detail, "recipientAccountId"), _text(event, "account")} - {None}
    if len(accounts) > 1:
        raise BadMessage("the event's account and its CloudTrail record's differ")
    regions = {_text(detail, "awsRegion"), _text(event, "region")} - {None}
    partitions = {partition_of_region(region) for region in regions}
    if None in partitions or len(partitions) != 1:
        raise BadMessage("the event names no Region, or Regions of different partitions")
    change = {
        "action": action,
        "user": user,
        "account_id": accounts.pop() if accounts else None,
        "partition": partitions.pop(),
        "time": detail.get("eventTime") or event.get("time"),
        "event_id": detail.get("eventID"),
        "caller": caller.get("arn"),
        "status": request.get("status") if action == "UpdateAccessKey" else None,
        "serial": request.get("serialNumber"),
        "group": request.get("groupName") if action in ("RemoveUserFromGroup",) + GROUP_POLICY_ACTIONS else None,
        "policy_arn": request.get("policyArn") if action in POLICY_ACTIONS else None,
        "tag_keys": _tag_keys(action, request),
    }
    problems = check_change(change)
    if problems:
        raise BadMessage("; ".join(problems))
    return change


def _tag_keys(action: str, request: Dict) -> Optional[Any]:
    """The tag keys a TagUser or UntagUser call puts or takes away (as sent: check_change checks them); None for others."""
    if action == "UntagUser":
        return request.get("tagKeys")
    if action == "TagUser":
        tags = request.get("tags")
        if not isinstance(tags, list) or not all(isinstance(tag, dict) for tag in tags):
            raise BadMessage("requestParameters.tags is not a list of tags")
        return [tag.get("key") for tag in tags]
    return None


def _arn_problem(name: str, value: Any, pattern: "re.Pattern", change: Dict) -> Optional[str]:
    found = _matches(pattern, value)
    if found is None:
        return f"{name} is not the ARN it should be"
    if found.group("partition") != change.get("partition") or found.group("account") != change.get("account_id"):
        return f"{name} names another partition or account than the change"
    return None


def check_change(change: Any) -> List[str]:
    """What is wrong with an IAM change (the ``iam_change`` of an event): each field checked against what AWS can send,
    named, its value never repeated. Nothing: an empty list."""
    if not isinstance(change, dict):
        return ["iam_change is not an object"]
    problems = [f"iam_change.{key} is not a field of an IAM change" for key in sorted(set(change) - set(FIELDS), key=str)]
    value = change.get
    if value("action") not in ACTIONS:
        problems.append(f"iam_change.action is not one of the calls the guard watches ({', '.join(ACTIONS)})")
    if value("user") is not None and not is_user_name(value("user")):
        problems.append(f"iam_change.user is not an IAM user name ({USER_NAME_RULE})")
    if not _matches(_ACCOUNT, value("account_id")):
        problems.append("iam_change.account_id is not a 12-digit AWS account")
    if value("partition") not in PARTITIONS:
        problems.append(f"iam_change.partition is not one of AWS's partitions ({', '.join(PARTITIONS)})")
    if not _matches(_TIME, value("time")):
        problems.append("iam_change.time is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    if not _matches(_UUID, value("event_id")):
        problems.append("iam_change.event_id is not a CloudTrail event id")
    if value("caller") is not None:
        problems += filter(None, [_arn_problem("iam_change.caller", value("caller"), _ARN, change)])
    if value("status") is not None and value("status") not in KEY_STATUSES:
        problems.append(f"iam_change.status is not an access key status ({', '.join(KEY_STATUSES)})")
    serial = value("serial")
    if isinstance(serial, str) and serial.startswith("arn:"):
        problems += filter(None, [_arn_problem("iam_change.serial", serial, _DEVICE_ARN, change)])
    elif serial is not None and not _matches(_HARDWARE_SERIAL, serial):
        problems.append("iam_change.serial is not an MFA device's serial number")
    if value("group") is not None and not _matches(_GROUP_NAME, value("group")):
        problems.append("iam_change.group is not an IAM group name (1 to 128 of letters, digits and +=,.@_-)")
    if value("policy_arn") is not None:
        problems += filter(None, [_arn_problem("iam_change.policy_arn", value("policy_arn"), _POLICY_ARN, change)])
    keys = value("tag_keys")
    if keys is not None and not (isinstance(keys, list) and len(keys) <= MAX_TAG_KEYS and all(_matches(_TAG_KEY, k) for k in keys)):
        problems.append(f"iam_change.tag_keys is not a list of at most {MAX_TAG_KEYS} tag keys (1 to 128 of letters, digits, spaces and _.:/=+@-)")
    return problems


def check_sqs(sqs: Any) -> List[str]:
    """What is wrong with the ``sqs`` part of an event (the message it came in)."""
    if not isinstance(sqs, dict):
        return ["sqs is not an object"]
    problems = [f"sqs.{key} is not a field of an SQS message" for key in sorted(set(sqs) - set(SQS_FIELDS), key=str)]
    if not _matches(_QUEUE_URL, sqs.get("queue_url")):
        problems.append("sqs.queue_url is not an SQS queue's URL")
    if not _matches(_UUID, sqs.get("message_id")):
        problems.append("sqs.message_id is not an SQS message id")
    if not _matches(_RECEIPT_HANDLE, sqs.get("receipt_handle")):
        problems.append("sqs.receipt_handle is not an SQS receipt handle")
    return problems


def _plain(value: Any) -> Any:
    """A plain ``str`` (none of the subclasses Ansible tags or wraps values with), or the value itself."""
    return str(value) if isinstance(value, str) else value


def checked_event(event: Any) -> Dict[str, Dict[str, Any]]:
    """An event of the iam_changes source (``{"iam_change": ..., "sqs": ...}``; ansible-rulebook adds ``meta``), every
    field checked, as plain data: the fields of an IAM change and of its message, absent ones null. BadMessage naming
    every field at fault."""
    if not isinstance(event, dict):
        raise BadMessage("the event is not an object")
    problems = [f"{key} is not a part of an event of awssec.mfa.iam_changes" for key in sorted(set(event) - {"iam_change", "sqs", "meta"}, key=str)]
    change, sqs = event.get("iam_change"), event.get("sqs")
    problems += check_change(change) + check_sqs(sqs)
    if problems:
        raise BadMessage("; ".join(problems))
    return {"iam_change": {key: _plain_value(change.get(key)) for key in FIELDS}, "sqs": {key: _plain(sqs[key]) for key in SQS_FIELDS}}


def _plain_value(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, list) else _plain(value)


def checked_events(event: Any) -> List[Dict[str, Dict[str, Any]]]:
    """The events of a batch (``{"iam_changes": [event, ...]}``, as the iam_changes source emits with ``batch_size``
    above 1) or of one event, each checked by ``checked_event``. BadMessage naming the event at fault (by its place)."""
    if isinstance(event, dict) and "iam_changes" in event:
        problems = [f"{key} is not a part of a batch of awssec.mfa.iam_changes" for key in sorted(set(event) - {"iam_changes", "meta"}, key=str)]
        batch = event["iam_changes"]
        if not isinstance(batch, list) or not batch or len(batch) > MAX_BATCH:
            raise BadMessage(f"iam_changes is not a list of 1 to {MAX_BATCH} events")
        if problems:
            raise BadMessage("; ".join(problems))
        checked = []
        for number, one in enumerate(batch, 1):
            try:
                checked.append(checked_event(one))
            except BadMessage as e:
                raise BadMessage(f"iam_changes[{number}]: {e}") from None
        return checked
    return [checked_event(event)]


def by_account(events: List[Dict[str, Dict[str, Any]]]) -> List[Dict[str, Any]]:
    """Checked events grouped by the account (and partition) their change was made in, in the order first seen: each
    ``{"account_id", "partition", "events", "users", "lookups"}`` - ``users`` the users the changes name (in order, once),
    ``lookups`` whether a change names a group or a policy whose users must be found."""
    accounts: Dict[Any, Dict[str, Any]] = {}
    for event in events:
        change = event["iam_change"]
        account = accounts.setdefault((change["account_id"], change["partition"]), {
            "account_id": change["account_id"], "partition": change["partition"], "events": [], "users": [], "lookups": False})
        account["events"].append(event)
        if change["user"] and change["user"] not in account["users"]:
            account["users"].append(change["user"])
        account["lookups"] = account["lookups"] or bool(not change["user"] and (change["group"] or change["policy_arn"]))
    return list(accounts.values())
