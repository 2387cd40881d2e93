# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Ansible's collection loader, set up before any test imports the collection.

The lookup and inventory tests load their plugins through Ansible's plugin loaders (so that their options are read from
their documentation, fragments included). Those loaders find nothing once ``ansible_collections`` has been imported as a
plain package, which any test module importing the collection at collection time would do first.
"""

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()
