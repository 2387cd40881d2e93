# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action awssec.mfa.role_variables: warns about the variables of the run that carry a role's prefix but that the role
does not know. Its documentation is plugins/modules/role_variables.py."""

import glob
import os

import yaml
from ansible.plugins.action import ActionBase

from ansible_collections.awssec.mfa.plugins.module_utils.role_vars import known_variables, unknown_variables

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        role = self._task.args.get("role")
        extra = sorted(set(self._task.args) - {"role"})
        roles = sorted(os.listdir(ROLES))
        if extra or role not in roles:
            return dict(result, failed=True, msg=f"role_variables takes role (one of {', '.join(roles)}), "
                                                 + (f"not {', '.join(extra)}" if extra else f"not {role!r}"))
        with open(os.path.join(ROLES, role, "meta", "argument_specs.yml"), encoding="utf-8") as f:
            specs = yaml.safe_load(f)
        texts = []
        for path in sorted(glob.glob(os.path.join(ROLES, role, "tasks", "*.yml"))):
            with open(path, encoding="utf-8") as f:
                texts.append(f.read())
        unknown = unknown_variables(list(task_vars or {}), role, known_variables(specs, texts))
        if unknown:
            result["warnings"] = list(unknown.values())
        return dict(result, changed=False, unknown=list(unknown))
