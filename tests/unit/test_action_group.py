# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""module_defaults for group/awssec.mfa.mfa reach every module that talks to AWS (and amazon.aws's: the group extends
amazon.aws.aws; group/aws itself does not reach this collection's modules): sns_user_notice and iam_change_done were left
out, so their credentials had to be threaded through every task."""

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_aws_module_is_in_the_mfa_action_group():
    group = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["action_groups"]["mfa"]
    members = {entry for entry in group if isinstance(entry, str)}
    aws = {path.stem for path in (ROOT / "plugins" / "modules").glob("*.py") if "amazon.aws.common.modules" in path.read_text()}
    assert aws and members == aws, (sorted(aws - members), sorted(members - aws))
    assert {"metadata": {"extend_group": ["amazon.aws.aws"]}} in group


# A role's AWS connection variables (mfa_report_aws_profile, mfa_enforce_aws_secret_key...).
CONNECTION_VARIABLE = re.compile(r"\bmfa_[a-z]+_aws_[a-z_]+")
ROLES = sorted(path.name for path in (ROOT / "roles").iterdir())


def _tasks(entries):
    """The tasks and blocks of a task list, those inside blocks too."""
    for entry in entries or []:
        yield entry
        for key in ("block", "rescue", "always"):
            yield from _tasks(entry.get(key))


def _role_tasks(role):
    return [task for path in sorted((ROOT / "roles" / role / "tasks").glob("*.yml")) for task in _tasks(yaml.safe_load(path.read_text()))]


@pytest.mark.parametrize("role", ROLES)
def test_a_role_gives_its_aws_connection_once_as_the_module_defaults_of_a_block(role):
    """Not threaded through each AWS task: one block's module_defaults give it to every AWS module the role runs."""
    group = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["action_groups"]["mfa"]
    aws = {f"awssec.mfa.{entry}" for entry in group if isinstance(entry, str)}
    tasks = _role_tasks(role)
    for task in tasks:
        action = next((key for key in task if key in aws or key.startswith("amazon.aws.")), None)
        assert not action or not CONNECTION_VARIABLE.findall(yaml.safe_dump(task[action])), task.get("name")
    blocks = [task["module_defaults"] for task in tasks if CONNECTION_VARIABLE.findall(yaml.safe_dump(task.get("module_defaults")))]
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    assert len(blocks) == (1 if any(CONNECTION_VARIABLE.match(name) for name in defaults) else 0)
    for module_defaults in blocks:
        assert set(module_defaults) == {action for task in tasks for action in task if action in aws}
        for options in module_defaults.values():
            assert {"profile", "region", "endpoint_url", "access_key", "secret_key", "session_token"} <= set(options)
