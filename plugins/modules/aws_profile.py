#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: aws_profile
short_description: Write one profile of the AWS shared credentials or config file, keeping the rest byte for byte
version_added: 0.1.0
description:
  - Sets options of one profile (or removes it) in the shared credentials file or the config file, the way
    M(awssec.mfa.aws_mfa_session) writes sessions - every byte outside that profile's section stays as it was
    (comments, blank lines, order, other profiles), the file is locked against concurrent runs and replaced atomically,
    with mode 0600 (and a missing folder is created with mode 0700).
  - A file that AWS tools could not parse is reported with its line and left alone.
  - Option values are never returned or logged; the diff shows them masked.
author:
  - awssec.mfa contributors (@awssec)
options:
  name:
    description:
      - The profile name. In the config file, the profile's section is found as botocore finds it (C([profile NAME]),
        C([profile "NAME"]), C([profile 'NAME']); the last one wins), and a new one is written as the aws CLI writes it,
        C([profile NAME]), quoted when the name has blanks (C([profile 'team a'])). C(default) is C([default]).
      - A name that could break out of its section header (with C([), C(]), a carriage return or a line feed), an empty
        name and a name that starts or ends with a blank are refused.
      - C(DEFAULT) is refused - botocore reads these files with configparser, which gives the options of a C([DEFAULT])
        section to every profile.
    type: str
    required: true
  file:
    description: Which file.
    type: str
    choices: [credentials, config]
    default: credentials
  path:
    description: The file's path. Defaults to E(AWS_SHARED_CREDENTIALS_FILE) or E(AWS_CONFIG_FILE), else C(~/.aws/credentials) or C(~/.aws/config).
    type: path
  values:
    description:
      - Options to set, such as C(aws_access_key_id), C(aws_secret_access_key), C(mfa_serial), C(region).
      - A dictionary value is a nested option, written as botocore reads it (C(s3 =) then indented C(key = value) lines).
        When the option is nested already, the sub-keys given are merged into it (set in place, or added after the
        last one) and its other sub-keys stay, as C(aws configure set s3.signature_version s3v4) does.
    type: dict
    default: {}
  remove:
    description: Options to remove from the profile.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) sets O(values) and removes O(remove); V(absent) removes the whole profile.
      - >-
        V(migrated) moves the profile's long-term key (C(aws_access_key_id), C(aws_secret_access_key)) from the
        credentials file into the OS keyring, as O(long_term_store=keyring) keeps it - stored and read back first, then
        removed from the file, every other byte of which stays as it was. Refused, with nothing changed, when no keyring
        backend is usable (the message names the one found) or the profile has no key in the file.
    type: str
    choices: [present, absent, migrated]
    default: present
  long_term_store:
    description:
      - >-
        Where the long-term key of a profile of the credentials file (C([NAME-long-term])) is kept. V(file) - in the
        file, as the aws CLI and aws-mfa keep it. V(keyring) - C(aws_access_key_id) and C(aws_secret_access_key) of
        O(values) go to the OS keyring (the Python library C(keyring) - the Secret Service on Linux, the Keychain on macOS,
        the Credential Locker on Windows), as one item of service C(awssec.mfa AWS long-term access key) named after the
        section; the section keeps what is not secret (C(mfa_serial), C(region)) and C(awssec_long_term_store = keyring),
        which M(awssec.mfa.aws_mfa_session) reads the key through.
      - With V(keyring), a missing or unusable keyring backend fails the task before anything is written, naming it.
    type: str
    choices: [file, keyring]
    default: file
notes:
  - Supports check mode and diff mode (nothing is written to the files or the keyring in check mode).
"""

EXAMPLES = r"""
- name: Store a long-term key and its MFA device for the prod profile
  awssec.mfa.aws_profile:
    name: prod-long-term
    values:
      aws_access_key_id: "{{ prod_key_id }}"
      aws_secret_access_key: "{{ prod_secret }}"
      mfa_serial: arn:aws:iam::123456789012:mfa/alice

- name: Keep the prod profile's long-term key in the OS keyring, nothing secret in ~/.aws/credentials
  awssec.mfa.aws_profile:
    name: prod-long-term
    long_term_store: keyring
    values:
      aws_access_key_id: "{{ prod_key_id }}"
      aws_secret_access_key: "{{ prod_secret }}"
      mfa_serial: arn:aws:iam::123456789012:mfa/alice

- name: Move an existing plaintext long-term key into the keyring
  awssec.mfa.aws_profile:
    name: dev-long-term
    state: migrated

- name: Give the prod session profile a region, and S3 a signature version (a nested option)
  awssec.mfa.aws_profile:
    name: prod
    file: config
    values:
      region: eu-west-1
      s3:
        signature_version: s3v4
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
section:
  description: The section written.
  returned: always
  type: str
  sample: profile prod
option_names:
  description: The names of the options set (values are never returned).
  returned: always
  type: list
  elements: str
keyring:
  description: Where the key is kept in the keyring (its service and user name), and whether that item changed.
  returned: with O(long_term_store=keyring) or O(state=migrated)
  type: dict
  sample: {"service": "awssec.mfa AWS long-term access key", "username": "prod-long-term", "changed": true}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awssec.mfa.plugins.module_utils.awsfiles import FileError, set_profile


def main():
    module = AnsibleModule(argument_spec=dict(
        name=dict(type="str", required=True),
        file=dict(type="str", choices=["credentials", "config"], default="credentials"),
        path=dict(type="path"),
        values=dict(type="dict", default={}, no_log=True),
        remove=dict(type="list", elements="str", default=[], no_log=False),
        state=dict(type="str", choices=["present", "absent", "migrated"], default="present"),
        long_term_store=dict(type="str", choices=["file", "keyring"], default="file"),
    ), supports_check_mode=True)
    p = module.params
    try:
        result = set_profile(p["path"], p["file"], p["name"], p["values"], p["remove"], p["state"], module.check_mode, p["long_term_store"])
    except ValueError as e:
        module.fail_json(msg=f"{e}. Nothing was written.")
    except FileError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
