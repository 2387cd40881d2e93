# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action awssec.mfa.role_variables: warns about the variables of the run that carry a role's prefix but that the role
does not know. Its documentation is plugins/modules/role_variables.py."""

import glob
import os

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.awssec.mfa.plugins.module_utils.role_vars import known_variables, unknown_variables

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        role, entry_point = self._task.args.get("role"), self._task.args.get("entry_point")
        extra = sorted(set(self._task.args) - {"role", "entry_point"})
        roles = sorted(os.listdir(ROLES))
        if extra or role not in roles:
            return dict(result, failed=True, msg=f"role_variables takes role (one of {', '.join(roles)}) and entry_point, "
                                                 + (f"not {', '.join(extra)}" if extra else f"not role={role!r}"))
        with open(os.path.join(ROLES, role, "meta", "argument_specs.yml"), encoding="utf-8") as f:
            specs = yaml.safe_load(f)
        texts = []
        for path in sorted(glob.glob(os.path.join(ROLES, role, "tasks", "*.yml"))):
            with open(path, encoding="utf-8") as f:
                texts.append(f.read())
        unknown = unknown_variables(list(task_vars), role, known_variables(specs, texts))
        if unknown:
            result["warnings"] = list(unknown.values())
        result.update(changed=False, unknown=list(unknown))
        if entry_point is None:
            return result
        if entry_point not in specs["argument_specs"]:
            return dict(result, failed=True, msg=f"role_variables: the role {role} has no entry point {entry_point!r} "
                                                 f"(it has {', '.join(sorted(specs['argument_specs']))})")
        # As Ansible checks a role's arguments when it starts, with only the errors in the answer (Ansible's own check
        # answers with the whole argument spec as well).
        spec = specs["argument_specs"][entry_point].get("options") or {}
        given = self._templar.template({name: task_vars[name] for name in spec if name in task_vars})
        errors = ArgumentSpecValidator(spec).validate(given, validate_role_argument_spec=True).error_messages
        if errors:
            return dict(result, failed=True, argument_errors=errors,
                        msg=f"The variables of the role awssec.mfa.{role} are not valid: {'; '.join(errors)} "
                            f"(ansible-doc -t role awssec.mfa.{role} lists them)")
        return result
