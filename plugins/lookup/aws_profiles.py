# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
name: aws_profiles
short_description: The long-term AWS profiles of this machine and the state of their MFA sessions
version_added: 0.1.0
description:
  - Lists the long-term profiles (sections C([NAME-long-term]) of the shared credentials file with an access key and no
    session token) by short name, with the state of the MFA session in C([NAME]), as C(aws_mfa_login.py --list) shows them.
  - Reads local files only; makes no AWS call. Returns no secret.
  - Terms, if any, are profile names to keep (the others are left out).
author:
  - awssec.mfa contributors (@awssec)
options:
  credentials_file:
    description: The shared credentials file. Defaults to E(AWS_SHARED_CREDENTIALS_FILE), else C(~/.aws/credentials).
    type: str
  config_file:
    description: The config file (for C(mfa_serial)). Defaults to E(AWS_CONFIG_FILE), else C(~/.aws/config).
    type: str
  env_file:
    description: A C(.env) file whose credential stands for profile C(default) (see M(awssec.mfa.aws_mfa_session)).
    type: str
  long_term_suffix:
    description: What ends the name of a long-term profile.
    type: str
    default: -long-term
seealso:
  - module: awssec.mfa.aws_mfa_session
"""

EXAMPLES = r"""
- name: Print the profiles as the seed's --list does
  ansible.builtin.debug:
    msg: "{{ ['Available Profiles:'] + query('awssec.mfa.aws_profiles') | map(attribute='label') | list }}"

- name: Names of the profiles whose session is no longer valid
  ansible.builtin.debug:
    msg: "{{ query('awssec.mfa.aws_profiles') | rejectattr('session', 'eq', 'valid') | map(attribute='name') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per long-term profile, sorted by name.
  type: list
  elements: dict
  contains:
    name:
      description: Short name, where the session goes.
      type: str
      sample: dev
    long_term_profile:
      description: The section (or .env file) holding the long-term key.
      type: str
      sample: dev-long-term
    session:
      description:
        - C(never) (no session yet), C(valid), C(expired), C(unknown) (a session without expiration), or C(other) (a session
          of another role, or a role's where the user's is wanted, which the next login replaces).
      type: str
    expires_at:
      description: When the session expires, ISO 8601 UTC.
      type: str
    remaining_seconds:
      description: Seconds left (0 unless valid).
      type: int
    remaining:
      description: Time left as C(8h 42m), for a valid session.
      type: str
    mfa_serial:
      description: The MFA device ARN found locally, if any.
      type: str
    label:
      description: "The seed's line, for example C(dev [MFA Valid: 8h 42m remaining]) or C(prod [Never logged in])."
      type: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.awssec.mfa.plugins.module_utils.awsfiles import FileError, default_paths
from ansible_collections.awssec.mfa.plugins.module_utils.login import read_files, utcnow
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import WorkstationError, check_names, discover
from ansible_collections.awssec.mfa.plugins.module_utils.workstation_render import profile_listing


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        credentials_path, config_path = default_paths()
        wanted = [str(t) for t in terms]
        try:
            check_names(wanted, self.get_option("long_term_suffix"))
            # Empty options mean the defaults (a role passes its "" variables as they are).
            files = read_files(os.path.expanduser(self.get_option("credentials_file") or credentials_path),
                               os.path.expanduser(self.get_option("config_file") or config_path),
                               os.path.expanduser(self.get_option("env_file")) if self.get_option("env_file") else None)
            now = utcnow()
            listing = profile_listing(discover(files, now, self.get_option("long_term_suffix")), now)
        except (WorkstationError, FileError) as e:
            raise AnsibleLookupError(f"aws_profiles: {e}")
        return [p for p in listing if not wanted or p["name"] in wanted]
