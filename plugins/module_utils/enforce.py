# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Enforcement: plan (pure functions over a user's live state) and apply (one user at a time).

Targets are the ``non-compliant`` users of a gathering run, and with ``targets`` the users with MFA whose access
keys work without it (``keys_not_mfa_protected``: the policy is attached, the keys stay). Right before acting on one, its
state is read again live; the plan is made from that state, so a user who enabled MFA since
the report is left alone. Every target is read and planned before anything changes, so that
``max_affected`` counts what the live plans would do. What was done is recorded as tags on the
user, so that ``state: restored`` undoes exactly that and nothing else: a policy an administrator
attached stays. The policy is this collection's only when it carries ``POLICY_TAG``; another
policy of the same name is never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.awssec.mfa.plugins.module_utils.classify import SELECTION_ARGSPEC, Classification, ClassifyOptions, check_options, classify
from ansible_collections.awssec.mfa.plugins.module_utils.calls import paginate
from ansible_collections.awssec.mfa.plugins.module_utils.clients import retrying
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, aws_call, error_text, unless_gone
from ansible_collections.awssec.mfa.plugins.module_utils.gather import gather
from ansible_collections.awssec.mfa.plugins.module_utils.live import access_keys, login_profile, mfa_devices, user_tags
from ansible_collections.awssec.mfa.plugins.module_utils.records import (
    TAG_CHANGED_AT,
    TAG_ENFORCED_AT,
    Gathered,
    UserRecord,
    access,
    isoformat,
    partition_of,
    user_name_from_arn,
)
from ansible_collections.awssec.mfa.plugins.module_utils.policy import POLICY_OPTIONS_ARGSPEC, decode_document, mfa_policy, policy_json
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import LIVE_READS_ARGSPEC, bounded_map, check_concurrency

TAG_DISABLED_KEYS = "awssec:mfa-disabled-keys"
TAG_ATTACHED_POLICY = "awssec:mfa-attached-policy"  # "true": this tool attached the policy, so restoring detaches it
TAG_DELETED_CONSOLE = "awssec:mfa-deleted-console"  # "true": this tool deleted the password, which cannot come back
TAG_PROTECTS_KEYS = "awssec:mfa-protects-keys"  # "true": the policy was attached to make a user's access keys need MFA
# The actions written down before they are made, and confirmed (emptied) once the calls are made: a run that stopped
# midway leaves them here, and restoring undoes none of them (they may or may not have been done).
TAG_PENDING = "awssec:mfa-pending"
RECORD_TAGS = (TAG_ENFORCED_AT, TAG_CHANGED_AT, TAG_DISABLED_KEYS, TAG_ATTACHED_POLICY, TAG_DELETED_CONSOLE, TAG_PROTECTS_KEYS, TAG_PENDING)
# Who enforcement acts on: users without MFA (non-compliant), and users with MFA whose keys work without it.
TARGETS = ("non-compliant", "keys_not_mfa_protected")
POLICY_TAG = "awssec:mfa-managed"  # on the managed policy this collection created and may update
STATES = ("enforced", "restored")
MAX_POLICY_VERSIONS = 5  # IAM keeps at most five versions of a managed policy
JUSTIFICATIONS = {
    ("console_without_mfa", "active_keys_without_mfa"): "Console access and active access keys without MFA",
    ("console_without_mfa",): "Console access without MFA",
    ("active_keys_without_mfa",): "Active access key without MFA",
}
KEYS_JUSTIFICATION = "MFA set up, but the access keys work without it"


@dataclass(frozen=True)
class EnforceOptions:
    state: str = "enforced"
    disable_access_keys: bool = True
    attach_policy: bool = True
    disable_console_access: bool = False
    policy_name: str = "RequireMFA"
    max_affected: int = 10
    targets: Tuple[str, ...] = ("non-compliant",)
    concurrency: int = 1  # targets read live at once before anything changes


def check_targets(targets: Sequence[str], attach_policy: bool) -> List[str]:
    """Problems with ``targets``, naming the option at fault."""
    problems = [f"targets must be among {', '.join(TARGETS)}, not {t!r}" for t in targets if t not in TARGETS]
    if not targets:
        problems.append(f"targets must name at least one of {', '.join(TARGETS)}")
    if "keys_not_mfa_protected" in targets and not attach_policy:
        problems.append("targets keys_not_mfa_protected attaches the policy: it needs attach_policy=true")
    return problems


@dataclass(frozen=True)
class LiveState:
    """What a live re-read of one user found, just before acting on it."""

    mfa_enabled: bool
    keys: Dict[str, str]  # access key id -> "Active" or "Inactive"
    console_access: bool
    policy_attached: bool
    tags: Dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> Dict:
        return {
            "mfa_enabled": self.mfa_enabled,
            "access_keys": dict(sorted(self.keys.items())),
            "console_access": self.console_access,
            "policy_attached": self.policy_attached,
            "tags": {k: v for k, v in sorted(self.tags.items()) if k in RECORD_TAGS},
        }


# --- pure planning -----------------------------------------------------------------------------


def justification(reasons: Sequence[str]) -> str:
    key = tuple(r for r in ("console_without_mfa", "active_keys_without_mfa") if r in reasons)
    return JUSTIFICATIONS.get(key, "No MFA")


def protects_keys(user: UserRecord, classified: Classification, options: EnforceOptions) -> bool:
    """Is this user a target for protecting their keys: MFA set up, keys that work without it, and either that target
    asked for, or the user non-compliant for it (require_mfa_policy_for_keys) with non-compliant users asked for?"""
    if not (user.mfa_enabled and "keys_not_mfa_protected" in classified.reasons):
        return False
    return "keys_not_mfa_protected" in options.targets or (classified.status == "non-compliant" and "non-compliant" in options.targets)


def plan_protect_keys(state: LiveState, options: EnforceOptions) -> List[str]:
    """Attach the policy so that the user's active keys need MFA; the keys stay active."""
    if options.attach_policy and not state.policy_attached and "Active" in state.keys.values():
        return ["protect_keys"]
    return []


def would_act(user: UserRecord, options: EnforceOptions) -> bool:
    """From gathered data: would enforcement change anything on this non-compliant user?

    Used to count targets against ``max_affected`` before anything changes. A user already
    enforced (tagged) with nothing left to disable is not counted.
    """
    if options.disable_access_keys and user.active_keys:
        return True
    if options.disable_console_access and user.console_access:
        return True
    return options.attach_policy and TAG_ENFORCED_AT not in user.tags


def plan_enforce(state: LiveState, options: EnforceOptions) -> List[str]:
    if state.mfa_enabled:
        return []
    actions = []
    if options.disable_access_keys:
        actions += [f"disable_key:{key}" for key, status in sorted(state.keys.items()) if status == "Active"]
    if options.attach_policy and not state.policy_attached:
        actions.append("attach_policy")
    if options.disable_console_access and state.console_access:
        actions.append("delete_login_profile")
    return actions


def restore_justification(mfa_enabled: bool) -> str:
    """Why restoring does (or does not yet) undo a user's enforcement."""
    if mfa_enabled:
        return "MFA set up since enforcement: undo what enforcement did"
    return "Enforced earlier; still without MFA (restored once MFA is set up)"


def keeps_key_protection(tags: Dict[str, str], options: EnforceOptions) -> bool:
    """Restoring leaves a policy attached to protect keys, unless keys_not_mfa_protected is among the targets."""
    return tags.get(TAG_PROTECTS_KEYS) == "true" and "keys_not_mfa_protected" not in options.targets


def plan_restore(state: LiveState, options: EnforceOptions) -> List[str]:
    if not state.mfa_enabled or keeps_key_protection(state.tags, options):
        return []
    recorded = state.tags.get(TAG_DISABLED_KEYS, "").split()
    actions = [f"enable_key:{key}" for key in recorded if state.keys.get(key) == "Inactive"]
    if options.attach_policy and state.policy_attached and state.tags.get(TAG_ATTACHED_POLICY) == "true":
        actions.append("detach_policy")
    if any(tag in state.tags for tag in RECORD_TAGS) and not state.tags.get(TAG_PENDING):
        actions.append("remove_tags")  # a pending record stays: it is the trace of an interrupted run
    return actions


def restore_notes(state: LiveState, options: EnforceOptions) -> List[str]:
    """What restoring leaves as it is, and why (for users with MFA and a recorded enforcement)."""
    notes = []
    if state.mfa_enabled and keeps_key_protection(state.tags, options):
        return ["the policy stays attached: it makes this user's access keys need MFA (restore with targets "
                "keys_not_mfa_protected to detach it)"]
    if state.tags.get(TAG_PENDING):
        notes.append(f"an enforcement run stopped before confirming {state.tags[TAG_PENDING]}: those may or may not have been done, "
                     f"and are not undone; check them, then remove the tag {TAG_PENDING}")
    if state.mfa_enabled and TAG_ENFORCED_AT in state.tags:
        if options.attach_policy and state.policy_attached and state.tags.get(TAG_ATTACHED_POLICY) != "true":
            notes.append("the policy stays attached: this tool did not record attaching it (an administrator did, or an earlier version)")
        if state.tags.get(TAG_DELETED_CONSOLE) == "true":
            notes.append("the console password deleted by enforcement cannot be restored: an administrator must set a new one")
    return notes


def record_tags(state: LiveState, actions: Sequence[str], now: datetime) -> Dict[str, str]:
    """The tags that record an enforcement of the ``actions`` done at ``now``, merged with an earlier one (its first date
    is kept; an earlier run's pending actions stay pending)."""
    disabled = state.tags.get(TAG_DISABLED_KEYS, "").split()
    newly = [a.split(":", 1)[1] for a in actions if a.startswith("disable_key:")]
    disabled += [key for key in newly if key not in disabled]
    tags = {TAG_ENFORCED_AT: state.tags.get(TAG_ENFORCED_AT) or isoformat(now), TAG_CHANGED_AT: isoformat(now), TAG_DISABLED_KEYS: " ".join(disabled),
            TAG_PENDING: state.tags.get(TAG_PENDING, "")}
    for tag, done in ((TAG_ATTACHED_POLICY, ("attach_policy", "protect_keys")), (TAG_DELETED_CONSOLE, ("delete_login_profile",)),
                      (TAG_PROTECTS_KEYS, ("protect_keys",))):
        if set(done) & set(actions) or state.tags.get(tag) == "true":
            tags[tag] = "true"
    return tags


ENFORCING = ("disable_key", "attach_policy", "protect_keys", "delete_login_profile")  # the actions enforcement records


def state_after(state: LiveState, actions: Sequence[str], now: datetime) -> LiveState:
    """The state once ``actions`` are done (for --diff and the 'current status' of a report)."""
    keys = dict(state.keys)
    tags = dict(state.tags)
    console, attached = state.console_access, state.policy_attached
    for action in actions:
        verb, dummy, key = action.partition(":")
        if verb in ("disable_key", "enable_key"):
            keys[key] = "Inactive" if verb == "disable_key" else "Active"
        console = console and verb != "delete_login_profile"
        attached = (attached or verb in ("attach_policy", "protect_keys")) and verb != "detach_policy"
        if verb == "remove_tags":
            tags = {k: v for k, v in tags.items() if k not in RECORD_TAGS}
    if any(a.split(":")[0] in ENFORCING for a in actions):
        tags.update(record_tags(state, actions, now))
    return replace(state, keys=keys, console_access=console, policy_attached=attached, tags=tags)


# --- AWS calls ---------------------------------------------------------------------------------


def read_state(iam, username: str, policy_arn: Optional[str]) -> LiveState:
    devices = mfa_devices(iam, username)
    keys = access_keys(iam, username)
    login = login_profile(iam, username)
    attached = []
    if policy_arn:
        attached = aws_call(
            f"list the policies attached to {username}", paginate, iam, "list_attached_user_policies", "AttachedPolicies", UserName=username
        )
    return LiveState(
        mfa_enabled=bool(devices),
        keys={key["AccessKeyId"]: key["Status"] for key in keys},
        console_access=login is not None,
        policy_attached=any(p["PolicyArn"] == policy_arn for p in attached),
        tags=user_tags(iam, username),
    )


def call_action(iam, username: str, action: str, policy_arn: Optional[str]) -> None:
    """Make the IAM call of one planned ``action`` (``VERB`` or ``VERB:KEY_ID``) on ``username``."""
    verb, dummy, key = action.partition(":")
    if verb in ("disable_key", "enable_key"):
        what = "disable" if verb == "disable_key" else "re-activate"
        aws_call(f"{what} access key {key} of {username}", iam.update_access_key, UserName=username, AccessKeyId=key,
                 Status="Inactive" if verb == "disable_key" else "Active", aws_retry=True)
    elif verb in ("attach_policy", "protect_keys"):  # the same call; only what it is recorded as differs
        aws_call(f"attach {policy_arn} to {username}", iam.attach_user_policy, UserName=username, PolicyArn=policy_arn, aws_retry=True)
    elif verb == "detach_policy":
        aws_call(f"detach {policy_arn} from {username}", iam.detach_user_policy, UserName=username, PolicyArn=policy_arn, aws_retry=True)
    elif verb == "delete_login_profile":
        aws_call(f"delete the login profile of {username}", iam.delete_login_profile, UserName=username, aws_retry=True)
    elif verb == "remove_tags":
        aws_call(f"remove the enforcement tags of {username}", iam.untag_user, UserName=username, TagKeys=list(RECORD_TAGS), aws_retry=True)
    else:
        raise ValueError(f"unknown enforcement action {action!r}")


def tag_user(iam, username: str, tags: Dict[str, str]) -> None:
    aws_call(f"tag {username}", iam.tag_user, UserName=username, Tags=[{"Key": k, "Value": v} for k, v in tags.items()], aws_retry=True)


def mfa_policy_arn(gathered: Gathered, name: str) -> str:
    """The ARN of the customer managed policy ``name`` in the caller's account and partition (aws-us-gov, aws-cn ...)."""
    return f"arn:{partition_of(gathered.caller_arn)}:iam::{gathered.account_id}:policy/{name}"


def same_name_elsewhere(iam, arn: str) -> Optional[str]:
    """The ARN of a customer managed policy named as ``arn`` at another path (AWS allows one policy of a name, whatever its
    path: ``arn`` cannot be created then); None when there is none."""
    name = arn.rsplit("/", 1)[1]
    policies = aws_call("list the account's policies (iam:ListPolicies)", paginate, iam, "list_policies", "Policies", Scope="Local")
    return next((p["Arn"] for p in policies if p["PolicyName"] == name and p["Arn"] != arn), None)


def ensure_policy(iam, arn: str, document: Dict, check_mode: bool, again: bool = False) -> Dict:
    """Create the managed policy ``arn``, or give it a new default version when its document differs.

    Returns ``{"arn", "change"}`` where change is ``none``, ``create`` or ``update``. A policy of that name
    without ``POLICY_TAG`` is someone else's: used as it is when its document is the same, never changed. A policy of
    that name at another path is refused by name, in check mode too (AWS would refuse to create ``arn``).
    """
    name = arn.rsplit("/", 1)[1]
    found = unless_gone(f"get policy {arn}", iam.get_policy, PolicyArn=arn, aws_retry=True)
    if found is None:
        elsewhere = same_name_elsewhere(iam, arn)
        if elsewhere is not None:
            raise AWSError(message=f"A policy named {name} exists at another path ({elsewhere}), and IAM allows one policy of a name: "
                                   f"{arn} cannot be created and nothing was changed. Name another policy with policy_name")
        if not check_mode:
            try:
                created = aws_call(
                    f"create policy {name}", iam.create_policy,
                    PolicyName=name, PolicyDocument=policy_json(document),
                    Description="Denies everything but MFA set-up to IAM users who did not sign in with MFA (awssec.mfa)",
                    Tags=[{"Key": POLICY_TAG, "Value": "true"}], aws_retry=True,
                )
            except AWSError as e:
                if e.code != "EntityAlreadyExists" or again:
                    raise
                # Created meanwhile by a run beside this one (the MFA guard handles changes at once): read it as it is, once.
                return ensure_policy(iam, arn, document, check_mode, again=True)
            arn = created["Policy"]["Arn"]
        return {"arn": arn, "change": "create"}
    policy = found["Policy"]
    version = aws_call(f"get the default version of {arn}", iam.get_policy_version, PolicyArn=arn, VersionId=policy["DefaultVersionId"],
                       aws_retry=True)
    current = decode_document(version["PolicyVersion"]["Document"])
    if policy_json(current) == policy_json(document):
        return {"arn": arn, "change": "none"}
    if not any(tag["Key"] == POLICY_TAG for tag in policy.get("Tags") or []):
        raise AWSError(message=f"{arn} exists with another document and is not this collection's (it has no {POLICY_TAG} tag): "
                               "it is left as it is and nothing was changed. Name another policy with policy_name, or tag this one "
                               f"{POLICY_TAG}=true to let awssec.mfa replace its document")
    if not check_mode:
        versions = aws_call(f"list the versions of {arn}", paginate, iam, "list_policy_versions", "Versions", PolicyArn=arn)
        if len(versions) >= MAX_POLICY_VERSIONS:
            oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
            aws_call(f"delete version {oldest['VersionId']} of {arn}", iam.delete_policy_version, PolicyArn=arn, VersionId=oldest["VersionId"],
                     aws_retry=True)
        aws_call(f"update policy {arn}", iam.create_policy_version, PolicyArn=arn, PolicyDocument=policy_json(document), SetAsDefault=True,
                 aws_retry=True)
    return {"arn": arn, "change": "update"}


# --- one user ----------------------------------------------------------------------------------


def plan_user(iam, username: str, options: EnforceOptions, policy_arn: Optional[str], now: datetime,
              keys: bool = False) -> Tuple[LiveState, Dict]:
    """Re-read one user and plan, changing nothing (``keys``: protect the user's keys). Raises AWSError."""
    state = read_state(iam, username, policy_arn if options.attach_policy else None)
    planner = plan_restore if options.state == "restored" else plan_protect_keys if keys else plan_enforce
    actions = planner(state, options)
    entry = {"before": state.as_dict(), "after": state_after(state, actions, now).as_dict(), "actions": actions, "done": []}
    if keys and not actions:
        entry["reason"] = "keys_protected_since_report"
    elif options.state == "enforced" and not keys and state.mfa_enabled:
        entry["reason"] = "mfa_enabled_since_report"
    elif options.state == "restored" and not state.mfa_enabled:
        entry["reason"] = "still_without_mfa"
    notes = restore_notes(state, options) if options.state == "restored" else []
    if notes:
        entry["notes"] = notes
    return state, entry


def apply_user(iam, username: str, state: LiveState, entry: Dict, options: EnforceOptions, policy_arn: Optional[str]) -> None:
    """Do the planned actions: written down first as pending, then recorded as done once their calls were made (a failed
    call's action, and those after it, are not). Raises AWSError; the work done is in ``entry["done"]`` and the record."""
    actions = entry["actions"]
    if not actions:
        return
    record = options.state == "enforced"
    if record:
        # Written down first, so that a run that stops midway leaves a trace. Dated now, not at the run's start: after any
        # credential report this run read was generated, so a run that gets that cached report again reads this user live
        # (gather.enforced_since).
        pending = dict(record_tags(state, [], datetime.now(timezone.utc)), **{TAG_PENDING: " ".join(actions)})
        tag_user(iam, username, pending)
    failure = None
    try:
        for action in actions:
            call_action(iam, username, action, policy_arn)
            entry["done"].append(action)
    except AWSError as e:
        failure = e
    if record:  # what was done, and only that (if this write fails, the pending record stays: restoring undoes none of it)
        try:
            tag_user(iam, username, record_tags(state, entry["done"], datetime.now(timezone.utc)))
        except AWSError:
            if failure is None:
                raise
    if failure is not None:
        raise failure  # the action's failure is the one to report


# --- the whole run -----------------------------------------------------------------------------


def select_targets(gathered: Gathered, selection: ClassifyOptions, options: EnforceOptions, now: datetime) -> Dict:
    """Classify the gathered users and sort them into targets, the caller, exempted and grace-period users."""
    caller = user_name_from_arn(gathered.caller_arn)
    out = {"targets": [], "caller": [], "exempted": [], "grace_period": [], "would_act": [], "warnings": []}
    for user in sorted(gathered.users, key=lambda u: u.username):
        classified = classify(user, selection, now)
        out["warnings"] += classified.warnings
        # Exemptions and grace periods decide what enforcement leaves alone; restoring goes by the records only.
        if options.state == "enforced" and classified.status == "exempted":
            out["exempted"].append({"username": user.username, "reason": classified.exemption["reason"], "until": classified.exemption["until"]})
        elif options.state == "enforced" and classified.status == "grace-period":
            out["grace_period"].append({"username": user.username, "days_remaining": classified.grace_days_remaining})
        keys = False
        if options.state == "enforced":
            keys = classified.status not in ("exempted", "grace-period") and protects_keys(user, classified, options)
            if not keys and not (classified.status == "non-compliant" and "non-compliant" in options.targets):
                continue
            acts = keys or would_act(user, options)
            why = KEYS_JUSTIFICATION if keys else justification(classified.reasons)
        else:
            # Undo wherever an enforcement was recorded, whatever the user's status is now.
            if not any(tag in user.tags for tag in RECORD_TAGS):
                continue
            acts = user.mfa_enabled and not keeps_key_protection(user.tags, options)
            why = restore_justification(user.mfa_enabled)
        target = {
            "username": user.username,
            "previous_status": classified.status,
            "access": access(user.console_access, len(user.active_keys)),
            "justification": why,
            "target": "keys_not_mfa_protected" if keys else "non-compliant",
        }
        if caller is not None and user.username == caller:
            out["caller"].append(target)
        else:
            out["targets"].append(target)
            if acts:
                out["would_act"].append(user.username)
    return out


def over_limit_warning(users: List[str], max_affected: int) -> str:
    """What a preview says when applying it would be refused (shared by the module and the Python API)."""
    return (f"Applying this plan would be refused: {len(users)} users would be acted on, more than max_affected={max_affected}. "
            f"To apply it, raise the limit to at least {len(users)} (max_affected, the role's mfa_enforce_max_affected, "
            f"awssec's --max-affected), or narrow the users (exclude_users, include_users).")


def too_many_message(users: List[str], max_affected: int, read_live: bool = False) -> str:
    """Why a run stopped before acting (shared by the module and the Python API)."""
    if read_live:
        return (f"more than max_affected={max_affected} users would be acted on as they are now (read live, stopped at "
                f"{len(users)}); nothing was changed: {', '.join(users)}")
    return f"{len(users)} users would be acted on, more than max_affected={max_affected}; nothing was changed: {', '.join(users)}"


def summarize_actions(entries: List[Dict], selected: Dict) -> Dict:
    """Totals over what was done or planned; a failed user counts for what was done before the failure."""
    def count(prefix: str) -> int:
        return sum(1 for e in entries for a in _effective(e) if a.startswith(prefix))

    return {
        "users_affected": sum(1 for e in entries if _effective(e)),
        "keys_disabled": count("disable_key:"),
        "keys_enabled": count("enable_key:"),
        "policies_attached": count("attach_policy") + count("protect_keys"),
        "keys_protected": count("protect_keys"),
        "policies_detached": count("detach_policy"),
        "consoles_disabled": count("delete_login_profile"),
        "skipped": sum(1 for e in entries if e["result"] == "skipped"),
        "failed": sum(1 for e in entries if e["result"] == "failed"),
        "exempted": selected["exempted"],
        "grace_period": selected["grace_period"],
    }


def _effective(entry: Dict) -> List[str]:
    """The actions planned (check mode) or actually done."""
    return entry["actions"] if entry["result"] == "planned" else entry.get("done", [])


def enforce_users(iam, gathered: Gathered, selection: ClassifyOptions, options: EnforceOptions, document: Dict, check_mode: bool, now: datetime) -> Dict:
    """Enforce (or restore) on the selected users. Never raises for one user's failure: see ``failed``. ``iam`` may be a
    raw boto3 client: it is wrapped with clients.retrying (the calls of this file pass ``aws_retry=True``)."""
    iam = retrying(iam)
    selected = select_targets(gathered, selection, options, now)
    result = {"changed": False, "state": options.state, "actions": [], "policy_arn": None, "policy_change": "none", "warnings": selected["warnings"]}
    # A preview (check mode) changes nothing: it plans every target and says that applying would be refused.
    if len(selected["would_act"]) > options.max_affected and not check_mode:
        result["too_many"] = selected["would_act"]
        result["summary"] = summarize_actions([], selected)
        return result

    arn = mfa_policy_arn(gathered, options.policy_name) if options.attach_policy else None
    result["policy_arn"] = arn
    # Every target is read and planned before anything changes: max_affected counts what the live plans would do.
    plans, acting = [], []
    for entry, state in bounded_map(lambda target: _plan(iam, target, options, arn, now), selected["targets"], options.concurrency):
        plans.append((entry, state))
        if entry["actions"] and entry["result"] != "failed":
            acting.append(entry["username"])
        if len(acting) > options.max_affected and not check_mode:
            result.update(too_many=acting, too_many_read_live=True, summary=summarize_actions([], selected))
            return result
    if len(acting) > options.max_affected:
        result["over_max_affected"] = sorted(acting)
    if options.attach_policy and options.state == "enforced":
        policy = ensure_policy(iam, arn, document, check_mode)  # raises, before any change, for a policy that is not ours
        result["policy_arn"], result["policy_change"] = policy["arn"], policy["change"]

    for target in selected["caller"]:
        result["actions"].append(dict(target, actions=[], result="skipped", reason="caller_identity", error=None))
    for entry, state in plans:
        if entry["result"] == "done" and check_mode:
            entry["result"] = "planned"
        elif entry["result"] == "done":
            _apply(iam, entry, state, options, result["policy_arn"])
        result["actions"].append(entry)
    result["actions"].sort(key=lambda e: e["username"])
    result["summary"] = summarize_actions(result["actions"], selected)
    result["changed"] = result["policy_change"] != "none" or any(_effective(e) for e in result["actions"])
    return result


def _failed(entry: Dict, e: AWSError) -> None:
    done = entry.get("done", [])
    entry.update(actions=done, done=done, result="failed", error=error_text(e))


def _plan(iam, target: Dict, options: EnforceOptions, policy_arn: Optional[str], now: datetime) -> Tuple[Dict, Optional[LiveState]]:
    """The target's entry, planned from a live read: result ``skipped``, ``failed``, or ``done`` (to do) / ``planned``."""
    entry = dict(target, error=None)
    try:
        state, found = plan_user(iam, target["username"], options, policy_arn, now, keys=target["target"] == "keys_not_mfa_protected")
    except AWSError as e:
        _failed(entry, e)
        return entry, None
    entry.update(found)
    entry["result"] = "skipped" if "reason" in found else "done"
    if options.state == "restored":  # the live read decides, not the gathered data
        entry["justification"] = restore_justification(state.mfa_enabled)
    return entry, state


def _apply(iam, entry: Dict, state: LiveState, options: EnforceOptions, policy_arn: Optional[str]) -> None:
    try:
        apply_user(iam, entry["username"], state, entry, options, policy_arn)
    except AWSError as e:
        _failed(entry, e)


# --- the module's parameters and answer --------------------------------------------------------

POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")

# iam_mfa_enforce's parameters (the module, the command line and the Python API take the same, with these defaults).
ENFORCE_ARGSPEC = dict(
    SELECTION_ARGSPEC,
    **LIVE_READS_ARGSPEC,
    state={"type": "str", "choices": list(STATES), "default": "enforced"},
    disable_access_keys={"type": "bool", "default": True},
    attach_policy={"type": "bool", "default": True},
    policy_name={"type": "str", "default": "RequireMFA"},
    policy_options={"type": "dict", "default": {}, "options": POLICY_OPTIONS_ARGSPEC},
    disable_console_access={"type": "bool", "default": False},
    max_affected={"type": "int", "default": 10},
    targets={"type": "list", "elements": "str", "choices": list(TARGETS), "default": ["non-compliant"]},
    lock_path={"type": "path"},
)


def spec_defaults(spec: Dict, **given) -> Dict:
    """Parameters as a module with argument spec ``spec`` would receive them: its defaults, then ``given`` (pure)."""
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ValueError(f"unknown parameters: {', '.join(unknown)}")
    params = {name: option.get("default") for name, option in spec.items()}
    params.update(given)
    return params


def check_params(params: Dict) -> List[str]:
    """What is wrong with iam_mfa_enforce's parameters (nothing: an empty list), found before any call."""
    problems = check_options(ClassifyOptions.from_params(params))
    if not POLICY_NAME.match(params["policy_name"]):
        problems.append(f"policy_name {params['policy_name']!r} is not a valid IAM policy name (1-128 of letters, digits and +=,.@_-)")
    if params["max_affected"] < 0:
        problems.append(f"max_affected must be 0 or more, not {params['max_affected']}")
    problems += check_targets(params["targets"], params["attach_policy"]) + check_concurrency(params["concurrency"])
    try:
        mfa_policy(**(params["policy_options"] or {}))
    except ValueError as e:
        problems.append(f"policy_options: {e}")
    return problems


def enforce_options(params: Dict) -> EnforceOptions:
    return EnforceOptions(state=params["state"], disable_access_keys=params["disable_access_keys"], attach_policy=params["attach_policy"],
                          disable_console_access=params["disable_console_access"], policy_name=params["policy_name"],
                          max_affected=params["max_affected"], targets=tuple(params["targets"]), concurrency=params["concurrency"])


def enforce_account(iam, sts, params: Dict, check_mode: bool, diff: bool, now: datetime) -> Tuple[Dict, Optional[str], List[str]]:
    """iam_mfa_enforce on the account of ``iam``: its result, the message it fails with (None: it does not) and the
    warnings to show. Raises AWSError when the account cannot be read or the policy cannot be made, before any change.
    ``iam`` and ``sts`` may be raw boto3 clients: they are wrapped with clients.retrying."""
    iam = retrying(iam)
    selection, options = ClassifyOptions.from_params(params), enforce_options(params)
    gathered = gather(iam, sts, params["source"], selection, concurrency=params["concurrency"])
    document = mfa_policy(partition=partition_of(gathered.caller_arn), **(params["policy_options"] or {}))
    return answer(enforce_users(iam, gathered, selection, options, document, check_mode, now), gathered.warnings, options.max_affected, diff)


def answer(result: Dict, warnings: List[str], max_affected: int, diff: bool) -> Tuple[Dict, Optional[str], List[str]]:
    """The module's answer from ``run``'s ``result``: the result to return, the failure message (None: success) and the
    warnings (``warnings``, the read's, then enforcement's, then each user's notes)."""
    notes = [f"{e['username']}: {note}" for e in result["actions"] for note in e.get("notes", [])]
    warnings = warnings + result.pop("warnings") + notes
    too_many = result.pop("too_many", None)
    if result.get("over_max_affected"):
        warnings = warnings + [over_limit_warning(result["over_max_affected"], max_affected)]
    if too_many is not None:
        message = too_many_message(too_many, max_affected, result.pop("too_many_read_live", False))
        return dict(result, users=too_many), message, warnings
    if diff:
        acted = [e for e in result["actions"] if e["actions"]]
        result["diff"] = {"before": {e["username"]: e["before"] for e in acted if "before" in e},
                          "after": {e["username"]: e["after"] for e in acted if "after" in e}}
    for entry in result["actions"]:
        entry.pop("done", None)
    failed = [e for e in result["actions"] if e["result"] == "failed"]
    if not failed:
        return result, None, warnings
    done = [e["username"] for e in result["actions"] if e["result"] == "done" and e["actions"]]
    failures = "; ".join(f"{e['username']} ({e['error']})" for e in failed)
    return result, f"Failed for {failures}; done for {', '.join(done) or 'nobody'}", warnings
