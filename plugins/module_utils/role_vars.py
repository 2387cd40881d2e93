# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The variables a run sets with a role's prefix that the role does not know (a misspelt name is otherwise ignored)."""

import difflib
import re
from typing import Dict, Iterable, Set

REGISTER = re.compile(r"^\s*register:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)


def known_variables(argument_specs: Dict, tasks_texts: Iterable[str]) -> Set[str]:
    """Every option of every entry point of a role's meta/argument_specs.yml, and the names its tasks register."""
    known = set()
    for entry_point in (argument_specs or {}).get("argument_specs", {}).values():
        known |= set((entry_point or {}).get("options") or {})
    for text in tasks_texts:
        known |= set(REGISTER.findall(text))
    return known


def unknown_variables(names: Iterable[str], role: str, known: Set[str]) -> Dict[str, str]:
    """Each name that carries the role's prefix (``role_``, not its private ``role__``) but is not known, with its
    warning, which names the nearest known one (pure)."""
    prefix = role + "_"
    warnings = {}
    for name in sorted(n for n in names if isinstance(n, str) and n.startswith(prefix) and not n.startswith(prefix + "_")):
        if name in known:
            continue
        nearest = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        hint = f"did you mean {nearest[0]}?" if nearest else f"its variables are listed by ansible-doc -t role awssec.mfa.{role}"
        warnings[name] = f"{name} is not a variable of the role awssec.mfa.{role} and is ignored: {hint}"
    return warnings
