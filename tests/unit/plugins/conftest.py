# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible.plugins.loader import init_plugin_loader


@pytest.fixture(scope="session")
def plugin_loader():
    """Ansible's plugin loaders, set up once per session (a second time only warns), for the lookup and inventory plugins."""
    init_plugin_loader()
