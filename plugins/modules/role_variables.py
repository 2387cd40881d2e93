#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: role_variables
short_description: Warn about variables that carry a role's prefix but that the role does not know
version_added: 0.3.0
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
notes:
  - An action that runs on the controller and changes nothing. Supports check mode.
"""

EXAMPLES = r"""
- name: Warn about mfa_enforce_ variables that the role does not know
  awssec.mfa.role_variables:
    role: mfa_enforce
"""

RETURN = r"""
unknown:
  description: The variables warned about.
  returned: success
  type: list
  elements: str
  sample: [mfa_enforce_exclude_user]
"""
