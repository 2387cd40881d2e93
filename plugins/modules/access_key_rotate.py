#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: access_key_rotate
short_description: Rotate an IAM access key without ever leaving its user without a working key
version_added: 0.1.0
description:
  - Rotates an access key that is older than O(max_age_days) (or any key with O(force)), in this order - make room
    (IAM allows two keys per user, inactive ones included), create the new key, store it, wait until it works
    (sts:GetCallerIdentity with it, 3 successes in a row, retried with backoff until O(verify_timeout)), back the old
    key up (workstation mode), retire the old key (O(old_key)).
  - When a step fails, what can be undone is undone - a new key never put in use is deleted, the old key goes back into
    the file - and RV(steps) and RV(state) say exactly what was left. At every moment the credentials file holds a key
    that works, and the user has at most two keys.
  - B(Workstation mode) (O(workstation_profile), no O(user_name)) rotates the key stored in C([PROFILE-long-term]) of the shared
    credentials file. IAM calls use the MFA session in C([PROFILE]) (see M(awssec.mfa.aws_mfa_session)), or in
    O(session_profile); no MFA code is sent. The new key replaces the old one in that section, keeping C(mfa_serial)
    and every other line; the old key is backed up to O(backup_file) in a section C([PROFILE-long-term_deactivated_YYYYMMDD_HHMMSS])
    with C(deactivated_at) and C(original_profile) (mode 0600).
  - If the user already has two keys, an inactive key that an earlier rotation backed up is deleted to make room; any
    other second key is handled per O(extra_keys), and without room the module fails before any change.
  - B(Admin mode) (O(user_name)) rotates a user's key with the usual connection options, and returns the new secret
    in RV(secret_access_key). The task must set C(no_log) - the module refuses to run otherwise - so store the secret
    from the registered result (for example with M(community.aws.secretsmanager_secret)).
author:
  - awssec.mfa contributors (@awssec)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
options:
  user_name:
    description:
      - Admin mode - the IAM user whose key to rotate, with the credentials given by the usual options.
      - Without it, the module is in workstation mode and O(workstation_profile) names the workstation profile.
    type: str
  workstation_profile:
    description:
      - Workstation mode - the profile whose key to rotate, stored in C([NAME-long-term]); its MFA session is in C([NAME]).
      - O(profile) does not name it - O(profile) is the AWS connection's, which C(module_defaults) may set for every AWS module.
    type: str
  access_key_id:
    description: Admin mode - the key to rotate. Defaults to the user's oldest active key.
    type: str
  session_profile:
    description: Workstation mode - the section holding the MFA session used for IAM calls. Defaults to O(workstation_profile).
    type: str
  credentials_file:
    description: Workstation mode - the shared credentials file. Defaults to E(AWS_SHARED_CREDENTIALS_FILE), else C(~/.aws/credentials).
    type: path
  long_term_suffix:
    description: Workstation mode - what ends the name of the long-term profile.
    type: str
    default: -long-term
  max_age_days:
    description:
      - Rotate keys older than this many whole days (a key exactly this old is not yet due, as the report's
        C(key_older_than_max_age) and the login's "rotation required" count). Defaults to E(AWS_KEY_EXPIRATION_DAYS), else 365.
    type: int
  force:
    description: Rotate whatever the key's age.
    type: bool
    default: false
  old_key:
    description:
      - What happens to the old key once the new one works - V(deactivate) (and back it up, in workstation mode),
        V(delete), or V(keep) (leave it active, for example while a service switches to the new key in admin mode).
    type: str
    choices: [deactivate, delete, keep]
    default: deactivate
  extra_keys:
    description:
      - A second key of the user (other than one an earlier rotation backed up) - V(keep) it, V(deactivate) it, or V(delete) it.
      - When a rotation needs its room, only V(delete) makes room; otherwise the module fails before any change.
      - When no rotation is due, V(deactivate) and V(delete) act on it as the seed's prompt does.
    type: str
    choices: [keep, deactivate, delete]
    default: keep
  backup_file:
    description: Workstation mode - where the old key is backed up. Defaults to the credentials file's path plus C(.deactivated).
    type: path
  verify_timeout:
    description: Seconds to wait for the new key to work (IAM is eventually consistent).
    type: int
    default: 60
  long_term_store:
    description:
      - >-
        Workstation mode - where the key is to be. V(file) - where it is (the credentials file, or the OS keyring for a
        profile moved there, whose new key then goes there too). V(keyring) - a key still in plain text in the credentials
        file is first moved into the OS keyring (as M(awssec.mfa.aws_profile)'s O(awssec.mfa.aws_profile#module:state=migrated)
        moves it; RV(moved_to_keyring)), then rotated there - the new key stored in the keyring, the old one backed up there.
      - With V(keyring), a missing or unusable keyring backend fails the task before any change or call, naming it.
    type: str
    choices: [file, keyring]
    default: file
notes:
  - Supports check mode (lists the steps it would take, changes nothing) and diff mode.
  - Workstation mode reads and writes this machine's files; run it on C(localhost).
"""

EXAMPLES = r"""
- name: Rotate the prod key if it is older than 90 days (after ansible-playbook awssec.mfa.mfa_login -e profiles=prod)
  awssec.mfa.access_key_rotate:
    workstation_profile: prod
    max_age_days: 90

- name: Rotate a service user's key and keep the old one active while the service switches
  awssec.mfa.access_key_rotate:
    user_name: svc-backup
    old_key: keep
    force: true
  register: rotated
  no_log: true

- name: Store the new key
  community.aws.secretsmanager_secret:
    name: svc-backup/access-key
    json_secret:
      aws_access_key_id: "{{ rotated.new_access_key_id }}"
      aws_secret_access_key: "{{ rotated.secret_access_key }}"
  no_log: true
  when: rotated.rotated
"""

RETURN = r"""
moved_to_keyring:
  description: Workstation mode with O(long_term_store=keyring) - the long-term section moved into the OS keyring first (in check mode, would be).
  returned: in workstation mode
  type: list
  elements: str
  sample: [prod-long-term]
rotated:
  description: Whether a new key is now in use.
  returned: always
  type: bool
user_name:
  description: The IAM user.
  returned: always
  type: str
old_access_key_id:
  description: The key that was (or would be) rotated.
  returned: always
  type: str
new_access_key_id:
  description: The new key, when one was created and kept.
  returned: always
  type: str
old_key_status:
  description: What became of the old key - C(Active) (still, whatever the reason), C(Inactive) or C(deleted).
  returned: always
  type: str
key_age_days:
  description: Age of the old key in days.
  returned: always
  type: int
backup_section:
  description: Workstation mode - the section written to the backup file.
  returned: always
  type: str
  sample: prod-long-term_deactivated_20261123_143052
steps:
  description: Each step and its result (C(done), C(failed), C(skipped), C(would do) in check mode, C(undo)).
  returned: always
  type: list
  elements: dict
  sample:
    - {step: create, result: done, detail: created AKIA...}
    - {step: verify, result: done, detail: AKIA... works (3 successes in a row)}
state:
  description: In words, the state left - which key is in use and what became of the other.
  returned: always
  type: str
failed_step:
  description: The step that failed, if any.
  returned: on failure
  type: str
key_in_file:
  description: Workstation mode - the access key ID that the long-term profile holds after the run.
  returned: in workstation mode, unless in check mode
  type: str
other_active_key:
  description:
    - Workstation mode - when a failed rotation left the user with a second active key besides O(workstation_profile)'s
      (the old key, not retired; or a new key that could not be deleted), that key's ID. The next rotation refuses to
      start until it is gone.
  returned: in workstation mode, unless in check mode
  type: str
next_command:
  description: Workstation mode - with RV(other_active_key), the command that deletes that key and keeps the file's.
  returned: in workstation mode, unless in check mode
  type: str
  sample: ansible-playbook awssec.mfa.rotate_keys -e profiles=prod -e extra_keys=delete
secret_access_key:
  description: Admin mode - the new secret. Only returned when the task has C(no_log), which hides it from every output.
  returned: when rotated in admin mode
  type: str
api_calls:
  description: AWS requests sent.
  returned: always
  type: int
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles
from ansible_collections.awssec.mfa.plugins.module_utils.rotate import RotateError, RotateOptions, rotate_profile, rotate_user, rotation_diff
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter, RETRY, SEND_ONCE, Sessions
from ansible_collections.awssec.mfa.plugins.module_utils.login import utcnow
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import WorkstationError, key_expiration_days

try:
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports the missing SDK

ARGUMENT_SPEC = dict(
    user_name=dict(type="str"),
    workstation_profile=dict(type="str"),
    access_key_id=dict(type="str", no_log=False),
    session_profile=dict(type="str"),
    credentials_file=dict(type="path"),
    long_term_suffix=dict(type="str", default="-long-term"),
    max_age_days=dict(type="int"),
    force=dict(type="bool", default=False),
    old_key=dict(type="str", choices=["deactivate", "delete", "keep"], default="deactivate"),
    extra_keys=dict(type="str", choices=["keep", "deactivate", "delete"], default="keep", no_log=False),
    backup_file=dict(type="path"),
    verify_timeout=dict(type="int", default=60),
    long_term_store=dict(type="str", choices=["file", "keyring"], default="file"),
)


def rotation(module, counter):
    """The rotation the parameters ask for: admin mode with user_name, else workstation mode."""
    p = module.params
    options = RotateOptions(max_age_days=key_expiration_days(p["max_age_days"]), force=p["force"], old_key=p["old_key"],
                            extra_keys=p["extra_keys"], verify_timeout=p["verify_timeout"])
    if p["user_name"]:
        iam = counter.watch(module.client("iam", retry_decorator=RETRY))
        once = counter.watch(module.client("iam", config=Config(retries=SEND_ONCE)))  # CreateAccessKey
        return rotate_user(iam, p["user_name"], p["access_key_id"], options, module.check_mode, utcnow(), Sessions(p["endpoint_url"], counter),
                           module.region, iam_once=once)
    return rotate_profile(p["workstation_profile"], options, module.check_mode, utcnow(), credentials_path=p["credentials_file"],
                          session_profile=p["session_profile"], long_term_suffix=p["long_term_suffix"], backup_file=p["backup_file"],
                          region=module.region, endpoint_url=p["endpoint_url"], counter=counter, long_term_store=p["long_term_store"])


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    if not p["user_name"] and not p["workstation_profile"]:
        module.fail_json(msg="name the workstation profile (workstation_profile) or, in admin mode, the IAM user (user_name); profile is "
                             "the AWS connection's, not the workstation profile to rotate")
    # amazon.aws 8's AnsibleAWSModule does not pass no_log through (later ones do): ask the AnsibleModule it wraps.
    if p["user_name"] and not getattr(module, "_module", module).no_log and not module.check_mode:
        module.fail_json(msg="admin mode returns the new secret key: set no_log: true on the task. Nothing was changed.")
    counter = CallCounter()
    try:
        result = rotation(module, counter)
    except (RotateError, WorkstationError, awsfiles.FileError) as e:
        module.fail_json(msg=str(e), api_calls=counter.count)
    except (BotoCoreError, ClientError) as e:
        module.fail_json_aws(e, msg="Failed to read the user and keys before rotating (nothing was changed)")
    result.update(api_calls=counter.count, diff=rotation_diff(result, p["old_key"], module.check_mode))
    if result.get("failed_step"):
        module.fail_json(msg=f"rotation failed at step {result['failed_step']}: {result['state']}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
