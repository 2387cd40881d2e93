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
    description: V(present) sets O(values) and removes O(remove); V(absent) removes the whole profile.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: Store a long-term key and its MFA device for the prod profile
  awssec.mfa.aws_profile:
    name: prod-long-term
    values:
      aws_access_key_id: "{{ prod_key_id }}"
      aws_secret_access_key: "{{ prod_secret }}"
      mfa_serial: arn:aws:iam::123456789012:mfa/alice

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
        state=dict(type="str", choices=["present", "absent"], default="present"),
    ), supports_check_mode=True)
    p = module.params
    try:
        result = set_profile(p["path"], p["file"], p["name"], p["values"], p["remove"], p["state"], module.check_mode)
    except ValueError as e:
        module.fail_json(msg=f"{e}. Nothing was written.")
    except FileError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
