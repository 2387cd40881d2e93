#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: mfa_guard_breaker
short_description: The MFA guard's circuit breaker - at most so many users acted on in a window
version_added: 0.1.0
description:
  - Before the MFA guard enforces on a user, it asks this module whether it may. At most O(max_actions) users are acted
    on in any O(window_minutes); past that the breaker is open and the guard only reports (warns), and says so, until
    the window has passed or a person resets the breaker (O(reset=true), or deleting the state file).
  - A user acted on within the window may be acted on again at no further cost (their next change, or the same change
    delivered twice), so a burst of changes of one user counts once.
  - The actions of the window are kept in the small JSON file O(path), next to the guard's findings, under a lock, so
    that the guard's playbooks running at once count together. It is opened without following a symbolic link and
    only when it is a regular file of this user (its lock file too); it is replaced whole, atomically.
  - The playbook C(awssec.mfa.mfa_guard) uses it when it enforces (C(mfa_guard_enforce)).
author:
  - awssec.mfa contributors (@awssec)
options:
  path:
    description: The state file (made 0600, in a folder made 0700, when missing).
    type: path
    required: true
  user:
    description: The IAM user about to be acted on. One of O(user) and O(users) is required unless O(reset=true).
    type: str
  users:
    description:
      - The IAM users about to be acted on, asked for in turn (a batch of changes). Those allowed are in
        RV(allowed_users), the others in RV(denied_users).
    type: list
    elements: str
  event_id:
    description: The change's CloudTrail event id, kept with the action.
    type: str
  max_actions:
    description: The most users acted on in any window. V(0) never allows an action.
    type: int
    default: 10
  window_minutes:
    description: The window's length.
    type: int
    default: 15
  reset:
    description: Forget the actions recorded, so that the breaker closes at once.
    type: bool
    default: false
notes:
  - Supports check mode - it answers, and records nothing.
"""

EXAMPLES = r"""
- name: May the guard act on this user now?
  awssec.mfa.mfa_guard_breaker:
    path: ~/.awssec-mfa/guard-breaker.json
    user: pat.new
    max_actions: 10
    window_minutes: 15
  register: breaker

- name: A person resets the breaker
  awssec.mfa.mfa_guard_breaker:
    path: ~/.awssec-mfa/guard-breaker.json
    reset: true
"""

RETURN = r"""
allowed:
  description: Whether the user may be acted on now.
  returned: always
  type: bool
  sample: true
users_in_window:
  description: The users acted on in the window (with this one when allowed).
  returned: always
  type: list
  elements: str
  sample: [pat.new, dora.lost]
reopens_at:
  description: When the breaker next allows a new user (UTC, ISO 8601); null when it is closed.
  returned: always
  type: str
  sample: "2026-12-05T12:45:00+00:00"
allowed_users:
  description: Of the users asked for, those that may be acted on now.
  returned: unless O(reset=true)
  type: list
  elements: str
  sample: [pat.new]
denied_users:
  description: Of the users asked for, those that may not (the breaker opened before their turn).
  returned: unless O(reset=true)
  type: list
  elements: str
  sample: [dora.lost]
why:
  description: Why a user may not be acted on, in words.
  returned: when not allowed
  type: str
  sample: "circuit breaker open: 10 users acted on in the last 15 minutes (mfa_guard_max_actions=10); reporting only until ..."
"""

from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.awssec.mfa.plugins.module_utils.guard import Breaker, breaker_claim, breaker_reset
from ansible_collections.awssec.mfa.plugins.module_utils.iam_events import USER_NAME_RULE, is_user_name


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="path", required=True),
        user=dict(type="str"),
        users=dict(type="list", elements="str"),
        event_id=dict(type="str"),
        max_actions=dict(type="int", default=10),
        window_minutes=dict(type="int", default=15),
        reset=dict(type="bool", default=False),
    ), required_if=[("reset", False, ("user", "users"), True)], mutually_exclusive=[("user", "users")], supports_check_mode=True)
    p = module.params
    breaker = Breaker(max_actions=p["max_actions"], window_minutes=p["window_minutes"])
    users = [p["user"]] if p["user"] is not None else list(p["users"] or [])
    named = [("user", p["user"])] if p["user"] is not None else [(f"users[{n}]", u) for n, u in enumerate(users, 1)]
    problems = breaker.problems() + [f"{name} is not an IAM user name ({USER_NAME_RULE})" for name, user in named if not is_user_name(user)]
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        if p["reset"]:
            result = breaker_reset(p["path"], module.check_mode)
        else:
            result = breaker_claim(p["path"], users, p["event_id"], breaker, datetime.now(timezone.utc), module.check_mode)
    except OSError as e:
        module.fail_json(msg=f"path: the circuit breaker's state: {e}")
    if p["user"] is not None:
        result["allowed"] = p["user"] in result["allowed_users"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
