# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which variables of a run carry a role's prefix but are unknown to the role: misspelt names are named, known ones never."""

import pathlib
import re

import pytest
import yaml

from ansible_collections.awssec.mfa.plugins.module_utils.role_vars import known_variables, unknown_variables

ROOT = pathlib.Path(__file__).resolve().parents[4]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir())


def role_known(role: str) -> set:
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return known_variables(specs, [p.read_text() for p in sorted((ROOT / "roles" / role / "tasks").glob("*.yml"))])


def test_a_misspelt_variable_is_named_with_the_nearest_known_one():
    known = role_known("mfa_enforce")
    given = ["mfa_enforce_exclude_user", "mfa_enforce_exclude_users", "mfa_enforce__preview", "mfa_report_formats", "inventory_hostname",
             "mfa_enforce_xyzzy", 3]
    assert unknown_variables(given, "mfa_enforce", known) == {
        "mfa_enforce_exclude_user": "mfa_enforce_exclude_user is not a variable of the role awssec.mfa.mfa_enforce and is ignored: "
                                    "did you mean mfa_enforce_exclude_users?",
        "mfa_enforce_xyzzy": "mfa_enforce_xyzzy is not a variable of the role awssec.mfa.mfa_enforce and is ignored: its variables are "
                             "listed by ansible-doc -t role awssec.mfa.mfa_enforce",
    }


@pytest.mark.parametrize("role", ROLES)
def test_no_variable_the_collection_itself_sets_or_documents_is_warned_about(role):
    """Every role_* name in the collection's roles, playbooks, docs and README is one the role knows (its argument specs,
    its registered results): the check never warns about a name a user was told to set."""
    pattern = re.compile(rf"\b{role}_[a-z0-9_]*[a-z0-9]\b")
    used = set()
    for path in [ROOT / "README.md", *ROOT.glob("roles/**/*.yml"), *ROOT.glob("roles/**/*.md"), *ROOT.glob("playbooks/*.yml"),
                 *ROOT.glob("docs/*.md"), *ROOT.glob("extensions/eda/rulebooks/*.yml")]:
        used |= set(pattern.findall(path.read_text()))
    assert used and unknown_variables(used, role, role_known(role)) == {}
    defaults = ROOT / "roles" / role / "defaults" / "main.yml"
    assert set(yaml.safe_load(defaults.read_text())) <= role_known(role)


def test_the_template_names_checked_are_the_names_a_template_gets():
    """mfa_enforce__template_var_names is written out beside mfa_enforce__template_vars (templating the latter outside the
    loop over users fails on item): the two must name the same variables, in the same order as the docs give them."""
    role_vars = yaml.safe_load((ROOT / "roles" / "mfa_enforce" / "vars" / "main.yml").read_text())
    assert role_vars["mfa_enforce__template_var_names"] == list(role_vars["mfa_enforce__template_vars"])
    spec = yaml.safe_load((ROOT / "roles" / "mfa_enforce" / "meta" / "argument_specs.yml").read_text())
    documented = " ".join(spec["argument_specs"]["main"]["options"]["mfa_enforce_notify_warning_template"]["description"])
    assert all(f"C({name})" in documented for name in role_vars["mfa_enforce__template_var_names"])
