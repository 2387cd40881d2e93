# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which test files run Ansible code: an import of ansible or of another collection, anywhere along this checkout's imports."""

import pytest

from tests.support.ansible_free import ROOT, runs_ansible

PURE = "from ansible_collections.awssec.mfa.plugins.module_utils import records\n"


@pytest.mark.parametrize("source, expected", [
    (PURE, False),
    ("import json\nfrom tests.support.moto_server import MotoServer\n", False),  # moto and boto3 are not Ansible
    ("def later():\n    import ansible.module_utils.basic\n", True),  # inside a function too
    ("from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry\n", True),
    ("from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY\n", True),  # clients imports amazon.aws
    ("from ansible_collections.awssec.mfa.plugins.module_utils import facts\n", True),  # facts -> clients -> amazon.aws
    ("from ansible_collections.awssec.mfa.plugins.modules.iam_mfa_facts import main\n", True),
])
def test_a_file_runs_ansible_when_any_import_along_the_way_does(tmp_path, source, expected):
    test_file = tmp_path / "test_x.py"
    test_file.write_text(source)
    assert runs_ansible(test_file) is expected


def test_the_pure_modules_stay_pure():
    """The logic that the oldest end no longer runs twice: a change that makes it import Ansible puts it back there."""
    for name in ("records", "iam_events", "awsfiles", "policy"):
        assert not runs_ansible(ROOT / "plugins" / "module_utils" / f"{name}.py"), name
