# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The check that the collection claims exactly the versions its matrix tests."""

import re

import yaml

from tests.support.versions import ROOT, claim_problems


def _ends():
    """Both ends as the collection's own files claim them: the oldest at every floor, the newest at the EE's core."""
    floor = re.search(r"[\d.]+", yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]).group()
    dependencies = {name: spec.lstrip(">=") for name, spec in yaml.safe_load((ROOT / "galaxy.yml").read_text())["dependencies"].items()}
    core = re.search(r">=\s*([\d.]+)", yaml.safe_load((ROOT / "execution-environment.yml").read_text())
                     ["dependencies"]["ansible_core"]["package_pip"]).group(1)
    oldest = {"ansible-core": floor, **dependencies}
    newest = {"ansible-core": core, **{name: "99.0.0" for name in dependencies}}
    return newest, oldest


def test_the_claims_agree_with_each_other():
    assert claim_problems(*_ends()) == []


def test_an_oldest_end_above_the_claimed_floor_is_named():
    newest, oldest = _ends()
    assert claim_problems(newest, dict(oldest, **{"ansible-core": "2.99.0"})) == [
        f"meta/runtime.yml requires_ansible '>={oldest['ansible-core']}', but the oldest end runs ansible-core 2.99.0"]
    problems = claim_problems(newest, dict(oldest, **{"amazon.aws": "99.0.0"}))
    assert len(problems) == 1 and problems[0].startswith("galaxy.yml asks for amazon.aws >=") and "oldest end runs amazon.aws 99.0.0" in problems[0]


def test_a_collection_below_the_floor_and_an_ee_on_another_core_are_named():
    newest, oldest = _ends()
    problems = claim_problems(dict(newest, **{"community.aws": "1.0.0", "ansible-core": "2.1.0"}), oldest)
    assert any("the newest end runs community.aws 1.0.0, below galaxy.yml's" in p for p in problems)
    assert any(p.startswith("execution-environment.yml installs") and "ansible-core 2.1.0" in p for p in problems)
