# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Live reads: IAM asked about each user (GetUser, GetLoginProfile, ListMFADevices, ListAccessKeys,
GetAccessKeyLastUsed, ListUserTags), exact but five or more calls per user; and the users' policies, in bulk
(GetAccountAuthorizationDetails) or user by user. A user deleted while it is being read is left out, with a warning.
``iam`` is a retrying client (clients.retrying)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.calls import paginate
from ansible_collections.awssec.mfa.plugins.module_utils.classify import ClassifyOptions, is_selected
from ansible_collections.awssec.mfa.plugins.module_utils.errors import Gone, aws_call, unless_gone
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import bounded_map
from ansible_collections.awssec.mfa.plugins.module_utils.records import AccessKey, MFADevice, UserRecord, as_utc, mfa_device_type


NEVER = datetime.max.replace(tzinfo=timezone.utc)  # sorts keys without a creation date last


def authorization_details(iam) -> Dict:
    """Users (with their tags, groups and policies), groups and managed policies, in pages over all of them."""
    return paginate(iam, "get_account_authorization_details", None, Filter=["User", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])


def tag_dict(tag_list: Iterable[Dict]) -> Dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tag_list or []}


def devices_of(listed: List[Dict]) -> List[MFADevice]:
    """ListMFADevices' answer as MFADevices."""
    return [MFADevice(serial=d["SerialNumber"], type=mfa_device_type(d["SerialNumber"])) for d in listed]


def login_profile(iam, name: str) -> Optional[Dict]:
    """The user's console password (its LoginProfile); None when it has none."""
    found = unless_gone(f"get the login profile of {name}", iam.get_login_profile, UserName=name, aws_retry=True)
    return None if found is None else found["LoginProfile"]


def mfa_devices(iam, name: str) -> List[Dict]:
    return aws_call(f"list the MFA devices of {name}", paginate, iam, "list_mfa_devices", "MFADevices", UserName=name)


def access_keys(iam, name: str) -> List[Dict]:
    return aws_call(f"list the access keys of {name}", paginate, iam, "list_access_keys", "AccessKeyMetadata", UserName=name)


def user_tags(iam, name: str) -> Dict[str, str]:
    return tag_dict(aws_call(f"list the tags of {name}", paginate, iam, "list_user_tags", "Tags", UserName=name))


def read_user_live(iam, user: Dict) -> UserRecord:
    """Read one user's credentials live. ``user`` is a ListUsers/GetUser entry."""
    name = user["UserName"]
    login = login_profile(iam, name)
    devices = mfa_devices(iam, name)
    key_list = access_keys(iam, name)
    keys = [
        AccessKey(
            status=key["Status"],
            created=as_utc(key.get("CreateDate")),
            last_used=as_utc(aws_call(f"get when key {key['AccessKeyId']} was last used", iam.get_access_key_last_used, AccessKeyId=key["AccessKeyId"],
                                      aws_retry=True)["AccessKeyLastUsed"].get("LastUsedDate")),
            access_key_id=key["AccessKeyId"],
        )
        for key in key_list
    ]
    tags = user_tags(iam, name)
    return UserRecord(
        username=name,
        arn=user["Arn"],
        created=as_utc(user["CreateDate"]),
        console_access=login is not None,
        password_created=as_utc(login.get("CreateDate")) if login else None,
        password_last_used=as_utc(user.get("PasswordLastUsed")),
        mfa_devices=devices_of(devices),
        access_keys=sorted(keys, key=lambda k: k.created or NEVER),
        tags=tags,
    )


def _policies_of(iam, kind: str, name: str) -> Dict:
    """The inline and attached policies of a user or a group (``kind``), as GetAccountAuthorizationDetails has them."""
    key = {"user": "UserName", "group": "GroupName"}[kind]
    inline = [{"PolicyName": policy,
               "PolicyDocument": aws_call(f"get policy {policy} of {kind} {name}", getattr(iam, f"get_{kind}_policy"),
                                          **{key: name, "PolicyName": policy}, aws_retry=True)["PolicyDocument"]}
              for policy in aws_call(f"list the policies of {kind} {name}", paginate, iam, f"list_{kind}_policies", "PolicyNames", **{key: name})]
    attached = aws_call(f"list the policies attached to {kind} {name}", paginate, iam, f"list_attached_{kind}_policies", "AttachedPolicies", **{key: name})
    return {f"{kind.capitalize()}PolicyList": inline, "AttachedManagedPolicies": attached}


def authorization_details_of(iam, names: List[str], concurrency: int = 1) -> Dict:
    """GetAccountAuthorizationDetails' answer for the users ``names`` alone - them, their groups, and the managed
    policies attached to either (their default versions) - read user by user, ``concurrency`` at a time."""
    def user(name: str) -> Dict:
        groups = [g["GroupName"] for g in aws_call(f"list the groups of {name}", paginate, iam, "list_groups_for_user", "Groups", UserName=name)]
        return dict(UserName=name, GroupList=groups, **_policies_of(iam, "user", name))

    users = list(bounded_map(user, names, concurrency))
    groups = [dict(GroupName=group, **_policies_of(iam, "group", group)) for group in dict.fromkeys(g for u in users for g in u["GroupList"])]
    policies = []
    for arn in dict.fromkeys(p["PolicyArn"] for holder in users + groups for p in holder["AttachedManagedPolicies"]):
        policy = aws_call(f"get policy {arn}", iam.get_policy, PolicyArn=arn, aws_retry=True)["Policy"]
        version = aws_call(f"get the default version of {arn}", iam.get_policy_version, PolicyArn=arn, VersionId=policy["DefaultVersionId"],
                           aws_retry=True)
        policies.append({"Arn": arn, "PolicyVersionList": [dict(version["PolicyVersion"], IsDefaultVersion=True)]})
    return {"UserDetailList": users, "GroupDetailList": groups, "Policies": policies}


def read_selected_users(iam, options: ClassifyOptions, warnings: List[str], concurrency: int) -> List[UserRecord]:
    listed = aws_call("list users (iam:ListUsers)", paginate, iam, "list_users", "Users")
    return _read_all(iam, [user for user in listed if is_selected(user["UserName"], options)], warnings, concurrency)


def _read_all(iam, users: List[Dict], warnings: List[str], concurrency: int) -> List[UserRecord]:
    """Read the users live, ``concurrency`` at a time; records and warnings in the users' order, as one by one."""
    records = _read_each(lambda user, own: _read_unless_deleted(iam, user, own), users, warnings, concurrency)
    return [record for record in records if record is not None]


def _read_each(read: Callable, items: List, warnings: List[str], concurrency: int) -> List[Optional[UserRecord]]:
    """``read(item, warnings)`` for each item, ``concurrency`` at a time; each item's warnings added in the items' order."""
    def one(item) -> Tuple[Optional[UserRecord], List[str]]:
        own: List[str] = []
        return read(item, own), own

    records = []
    for record, own in bounded_map(one, items, concurrency):
        warnings.extend(own)
        records.append(record)
    return records


def _read_unless_deleted(iam, user: Dict, warnings: List[str]) -> Optional[UserRecord]:
    # A user deleted while the account is being read is left out, not a failure.
    try:
        return read_user_live(iam, user)
    except Gone:
        warnings.append(f"user {user['UserName']} was deleted while it was being read; it is left out")
        return None


def read_names(iam, names: List[str], warnings: List[str], concurrency: int) -> Dict[str, Optional[UserRecord]]:
    """The users read live by name, ``concurrency`` at a time (None: no longer exists); warnings in the names' order."""
    return dict(zip(names, _read_each(lambda name, own: _read_by_name(iam, name, own), names, warnings, concurrency)))


def _read_by_name(iam, name: str, warnings: List[str]) -> Optional[UserRecord]:
    """A user read live by name; None when it no longer exists."""
    user = unless_gone(f"get user {name}", iam.get_user, UserName=name, aws_retry=True)
    return None if user is None else _read_unless_deleted(iam, user["User"], warnings)
