#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: role_variables
short_description: Warn about variables that carry a role's prefix but that the role does not know
version_added: 0.1.0
description:
  - >-
    A variable Ansible does not use is ignored without a word, so a misspelt one (C(mfa_enforce_exclude_user) for
    C(mfa_enforce_exclude_users)) silently changes what a run does.
  - This action looks at the variables of the run whose names start with the role's name and one underscore (names with
    two, C(mfa_enforce__preview), are the role's own) and warns about each one that is neither an option of one of the
    role's entry points (its C(meta/argument_specs.yml)) nor registered by its tasks, naming the nearest known variable.
  - The roles of this collection run it first.
author:
  - awssec.mfa contributors (@awssec)
options:
  role:
    description: The role of this collection whose variables to check.
    type: str
    required: true
    choices: [mfa_enforce, mfa_report, mfa_workstation]
  entry_point:
    description:
      - Also check the variables against the argument spec of this entry point of the role, as Ansible does when the
        role starts, and fail naming only the variables at fault (Ansible's own check also prints the whole argument
        spec). The playbooks of this collection run it before their roles.
    type: str
notes:
  - An action that runs on the controller and changes nothing. Supports check mode.
"""

EXAMPLES = r"""
- name: Warn about mfa_enforce_ variables that the role does not know
  awssec.mfa.role_variables:
    role: mfa_enforce

- name: And check the variables of the role's main entry point, before the role runs
  awssec.mfa.role_variables:
    role: mfa_report
    entry_point: main
"""

RETURN = r"""
unknown:
  description: The variables warned about.
  returned: success
  type: list
  elements: str
  sample: [mfa_enforce_exclude_user]
argument_errors:
  description: What is wrong with the variables, one message each.
  returned: when O(entry_point) is given and a variable is not valid
  type: list
  elements: str
"""
