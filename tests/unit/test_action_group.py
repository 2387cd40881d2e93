# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""module_defaults for group/awssec.mfa.mfa (or group/aws, which it extends) reach every module that talks to AWS:
sns_user_notice and iam_change_done were left out, so their credentials had to be threaded through every task."""

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_aws_module_is_in_the_mfa_action_group():
    group = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["action_groups"]["mfa"]
    members = {entry for entry in group if isinstance(entry, str)}
    aws = {path.stem for path in (ROOT / "plugins" / "modules").glob("*.py") if "amazon.aws.common.modules" in path.read_text()}
    assert aws and members == aws, (sorted(aws - members), sorted(members - aws))
    assert {"metadata": {"extend_group": ["amazon.aws.aws"]}} in group
