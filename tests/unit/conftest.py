# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Ansible's collection loader, set up before any test imports the collection; fake AWS credentials (aws_env).

The lookup and inventory tests load their plugins through Ansible's plugin loaders (so that their options are read from
their documentation, fragments included). Those loaders find nothing once ``ansible_collections`` has been imported as a
plain package, which any test module importing the collection at collection time would do first.
"""

import pytest
from ansible.plugins.loader import init_plugin_loader

from tests.support.ansible_free import runs_ansible

init_plugin_loader()


def pytest_collection_modifyitems(items):
    """A test file that runs no Ansible code (tests/support/ansible_free.py reads its imports) is marked ansible_independent."""
    for item in items:
        if not runs_ansible(item.path.resolve()):
            item.add_marker(pytest.mark.ansible_independent)


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials and Region, and shared files in tmp_path, so the user's own are never read."""
    credentials, config = tmp_path / "aws-credentials", tmp_path / "aws-config"
    credentials.write_text("")
    config.write_text("")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return credentials, config
