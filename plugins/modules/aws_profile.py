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

from ansible_collections.awssec.mfa.plugins.module_utils.awsfiles import (
    FileError, IniFile, check_name, check_values, config_section, default_paths, update)


SECRET_OPTIONS = ("aws_secret_access_key", "aws_session_token", "aws_security_token")


def masked(ini: IniFile, section: str) -> str:
    """The section as the diff shows it, secrets hidden."""
    values = ini.get(section)
    if values is None:
        return ""
    shown = {k: "********" if k in SECRET_OPTIONS else v.replace("\n", "\n    ") for k, v in values.items()}  # nested: indented
    return f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in shown.items())


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
    credentials_path, config_path = default_paths()
    path = p["path"] or (credentials_path if p["file"] == "credentials" else config_path)
    values = {str(k): v if isinstance(v, dict) else "" if v is None else str(v) for k, v in p["values"].items()}
    try:  # before update(), which locks (creating FILE.lock): a refused call leaves nothing behind
        check_name(p["name"])
        check_values(p["name"], values)
    except ValueError as e:
        module.fail_json(msg=f"{e}. Nothing was written.")
    seen = {}

    def edit(ini):
        seen["section"] = section = config_section(ini, p["name"]) if p["file"] == "config" else p["name"]
        seen["before"] = masked(ini, section)
        changed = ini.remove(section) if p["state"] == "absent" else ini.set(section, values, p["remove"])
        seen["after"] = masked(ini, section)
        return changed

    try:
        changed = update(path, edit, module.check_mode)
    except (FileError, ValueError) as e:
        module.fail_json(msg=str(e))
    section = seen["section"]
    diff = {"before": seen["before"], "after": seen["after"], "before_header": f"{path} [{section}]", "after_header": f"{path} [{section}]"}
    module.exit_json(changed=changed, path=path, section=section, option_names=sorted(values), diff=diff)


if __name__ == "__main__":
    main()
