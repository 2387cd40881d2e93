#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: aws_mfa_session
short_description: Get MFA sessions (and role sessions with MFA) for NAME-long-term profiles and write them to NAME
version_added: 0.1.0
description:
  - For each profile C(NAME), reads the long-term access key of C([NAME-long-term]) in the shared credentials file,
    calls sts:GetSessionToken with it, the profile's MFA device and a current token code, and writes the session
    to C([NAME]) in the same file. Then C(aws --profile NAME) and C(boto3.Session(profile_name="NAME")) use it.
  - The only call made with long-term keys is sts:GetSessionToken (sts:AssumeRole for a role profile), and it is never
    retried (AWS rejects a TOTP code sent twice). After it, with the session, sts:GetCallerIdentity gives the user and
    account, and iam:ListAccessKeys (with the user name from the caller's ARN, which temporary credentials require)
    gives the key's age.
  - >-
    Role profiles - the aws CLI's keys C(role_arn), C(source_profile), C(mfa_serial), C(duration_seconds),
    C(role_session_name) and C(external_id) under C([profile NAME-long-term]) of the config file, or aws-mfa's
    C(assume_role) beside the keys of C([NAME-long-term]) - get the role's session with sts:AssumeRole, the MFA device
    and the code, written to C([NAME]) as aws-mfa writes one (C(assumed_role = True), C(assumed_role_arn)).
  - >-
    One code serves the profiles of one long-term key and MFA device: for several of them, one sts:GetSessionToken with
    the code, then each role's sts:AssumeRole with that session (AWS's role chaining, which allows such a role session
    an hour at most - RV(profiles[].role_chained)). A role profile alone is assumed with the key and the code, for its
    own C(duration_seconds) (default 3600).
  - A role defined under the session's own name (C(role_arn) in C([profile NAME])) is refused before any call - botocore
    would assume that role itself instead of reading the session.
  - A profile whose session still has more than O(min_remaining_seconds) left is skipped without any AWS call, unless O(force).
  - The MFA device ARN (C(mfa_serial) or C(aws_mfa_device)) is read from C([profile NAME-long-term]) then C([NAME-long-term])
    of the config file, then C([NAME-long-term]) of the credentials file.
  - The session section holds C(aws_access_key_id), C(aws_secret_access_key), C(aws_session_token), C(aws_security_token)
    (the same token, since botocore reads it first) and C(expiration) in UTC as C(%Y-%m-%d %H:%M:%S), the format of broamski/aws-mfa.
  - The file is edited in place, keeping every byte outside C([NAME]) (comments, blank lines, order, other profiles), under
    an exclusive lock (a C(.lock) file beside it), and replaced atomically; it is written with mode 0600, and a missing
    folder is created with mode 0700.
  - Every input is checked before any call or write - token codes, duration, profile names, MFA devices, file syntax.
  - No secret key, session token or token code is ever returned.
  - Runs where the files are, usually C(localhost). Needs a POSIX system (file locking).
author:
  - awssec.mfa contributors (@awssec)
options:
  profiles:
    description:
      - Short names of the profiles (C(prod) for C([prod-long-term])), or V(all) for every long-term profile.
      - A long-term profile is a section whose name ends with O(long_term_suffix), holding C(aws_access_key_id) and
        C(aws_secret_access_key) but no C(aws_session_token) - or C(awssec_long_term_store = keyring), its key then read from
        the OS keyring (M(awssec.mfa.aws_profile)'s O(awssec.mfa.aws_profile#module:long_term_store)); with no usable
        keyring the login fails before anything is written, naming it. Or a role profile, whose key is its source profile's.
    type: list
    elements: str
    default: [all]
  token_codes:
    description:
      - The current 6-digit code of each profile's MFA device, by profile name.
      - Needed for each profile that gets a new session; not needed in check mode. Profiles of one long-term key and MFA
        device share one code, given under any of their names (check mode's RV(profiles[].code_from) names the one asked for).
    type: dict
    default: {}
  token_code:
    description: The code for a single profile; the same as O(token_codes) with that one profile.
    type: str
  duration_seconds:
    description:
      - How long the session lasts; 900 to 129600 (the root user gets at most 3600).
      - A role profile's session lasts its own C(duration_seconds), else 3600.
    type: int
    default: 43200
  force:
    description: Get a new session even for a profile whose session is still valid.
    type: bool
    default: false
  min_remaining_seconds:
    description: A session with at most this many seconds left is refreshed.
    type: int
    default: 300
  credentials_file:
    description: The shared credentials file. Defaults to E(AWS_SHARED_CREDENTIALS_FILE), else C(~/.aws/credentials).
    type: path
  config_file:
    description: The config file. Defaults to E(AWS_CONFIG_FILE), else C(~/.aws/config).
    type: path
  long_term_suffix:
    description: What ends the name of a long-term profile.
    type: str
    default: -long-term
  long_term_store:
    description:
      - >-
        Where the long-term keys are to be. V(file) - where they are (the credentials file, or the OS keyring for a profile
        already moved there). V(keyring) - the key of every selected profile (a role profile's - its source's) that is still
        in plain text in the credentials file is first moved into the OS keyring, as M(awssec.mfa.aws_profile)'s
        O(awssec.mfa.aws_profile#module:state=migrated) moves it (kept there and read back before the file loses it, every
        other byte kept; RV(moved_to_keyring) names the sections), then the login reads it from there.
      - With V(keyring), a missing or unusable keyring backend fails the task before any change or call, naming it.
    type: str
    choices: [file, keyring]
    default: file
  session_store:
    description:
      - >-
        Where the session goes. V(file) - into C([NAME]) of the credentials file, as the aws CLI and aws-mfa read it.
        V(credential_process) - into the OS keyring (the Python library C(keyring)), and C([profile NAME]) of the config file
        gets C(credential_process = awssec-credentials NAME) (the collection's command line, which prints the session as
        the aws CLI and botocore take it, and when it has expired says how to get a new one, without prompting); a session
        of C([NAME]) in the credentials file is removed (it would win over credential_process). With the long-term key in
        the keyring too, nothing secret is in C(~/.aws) at all.
      - With V(credential_process), a missing or unusable keyring backend fails the task before any call, naming it.
    type: str
    choices: [file, credential_process]
    default: file
  env_file:
    description:
      - A C(.env) file (read with python-dotenv) that holds one long-term credential, for profile C(default) when the
        credentials file has no C([default-long-term]); C(AWS_ACCESS_KEY_ID), C(AWS_SECRET_ACCESS_KEY), C(AWS_DEFAULT_REGION),
        C(AWS_MFA_SERIAL) (looked at last) and C(AWS_KEY_EXPIRATION_DAYS) are used.
      - The file must exist.
    type: path
  key_expiration_days:
    description:
      - Age at which an access key must be rotated; rotation is C(recommended) 30 days before, C(required) after.
      - Defaults to E(AWS_KEY_EXPIRATION_DAYS), then C(AWS_KEY_EXPIRATION_DAYS) of O(env_file), else 365.
    type: int
  region:
    description:
      - Region for STS and IAM. Defaults to the long-term profile's C(region), then E(AWS_DEFAULT_REGION);
        with none, botocore uses STS's and IAM's global endpoints, which are in the C(aws) partition (GovCloud and China need a region).
    type: str
  endpoint_url:
    description: Send requests to this endpoint (for example a local test server). Defaults to E(AWS_ENDPOINT_URL).
    type: str
notes:
  - Supports check mode - it reports which profiles would get a new session (status C(pending)), calls nothing and writes nothing.
  - The P(awssec.mfa.aws_profiles#lookup) lookup lists the profiles and their session state; the role C(awssec.mfa.mfa_workstation)
    and the playbook C(awssec.mfa.mfa_login) prompt for codes and print the results.
requirements:
  - boto3
  - python-dotenv (for O(env_file))
"""

EXAMPLES = r"""
- name: Get sessions for prod and dev
  awssec.mfa.aws_mfa_session:
    profiles: [prod, dev]
    token_codes:
      prod: "{{ prod_code }}"
      dev: "{{ dev_code }}"
  register: mfa_sessions

- name: One profile, a one-hour session
  awssec.mfa.aws_mfa_session:
    profiles: prod
    token_code: "123456"
    duration_seconds: 3600

- name: Which profiles need a code? (calls nothing)
  awssec.mfa.aws_mfa_session:
    profiles: all
  check_mode: true
  register: mfa_plan

- name: The user's session and two roles' (role profiles admin and audit, source prod), with one code
  awssec.mfa.aws_mfa_session:
    profiles: [prod, admin, audit]
    token_codes:
      prod: "{{ prod_code }}"

- name: Refresh even valid sessions, with a .env credential and a custom rotation age
  awssec.mfa.aws_mfa_session:
    profiles: [default]
    token_code: "{{ code }}"
    env_file: "{{ playbook_dir }}/.env"
    key_expiration_days: 180
    force: true
"""

RETURN = r"""
profiles:
  description: One entry per requested profile, in the order asked.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The short profile name (the session's section).
      type: str
      sample: prod
    long_term_profile:
      description: Where the long-term key is, a section name (or the .env file); a role profile's source.
      type: str
      sample: prod-long-term
    role_arn:
      description: The role of a role profile (None for the user's own session).
      type: str
      sample: arn:aws:iam::123456789012:role/admin
    assumed_role_arn:
      description: The role session's ARN, from sts:GetCallerIdentity with the new session.
      type: str
      sample: arn:aws:sts::123456789012:assumed-role/admin/alice
    role_chained:
      description: Whether the role was assumed with the MFA session of a code that served several profiles (an hour at most).
      type: bool
    code_from:
      description: The profile whose token code this profile's session is got with (the first of its long-term key and device).
      type: str
      sample: prod
    status:
      description:
        - C(authenticated) (a new session was written), C(valid) (skipped, the session is still valid),
          C(failed) (see RV(profiles[].error)), or in check mode C(pending) (would get a new session).
      type: str
      sample: authenticated
    access_key_id:
      description: The long-term access key ID (not a secret).
      type: str
    expires_at:
      description: When the session expires, ISO 8601 UTC.
      type: str
      sample: "2026-11-23T22:14:05+00:00"
    remaining:
      description: Time left, as C(8h 42m).
      type: str
    remaining_seconds:
      description: Seconds left.
      type: int
    user:
      description: The IAM user name, from sts:GetCallerIdentity with the new session.
      type: str
    account:
      description: The account ID.
      type: str
    key_age_days:
      description: Age of the long-term key in days.
      type: int
    key_rotation:
      description: C(ok), C(recommended) (within 30 days of O(key_expiration_days)) or C(required) (past it).
      type: str
    key_expires_in_days:
      description: Days until the key reaches O(key_expiration_days) (negative once past).
      type: int
    extra_keys:
      description: The user's other access keys (C(access_key_id), C(status)).
      type: list
      elements: dict
    warnings:
      description: Multiple active keys, or checks that could not be made.
      type: list
      elements: str
    error:
      description: Why the profile failed (for example the code STS rejected).
      type: str
  sample:
    - name: prod
      status: authenticated
      user: prod-user
      account: "123456789012"
      key_age_days: 350
      key_rotation: recommended
key_expiration_days:
  description: The rotation age used.
  returned: always
  type: int
  sample: 365
duration_seconds:
  description: The session duration requested.
  returned: always
  type: int
credentials_file:
  description: The credentials file read and written.
  returned: always
  type: str
moved_to_keyring:
  description: The long-term sections whose key was moved into the OS keyring (in check mode, would be) - O(long_term_store=keyring).
  returned: always
  type: list
  elements: str
  sample: [prod-long-term]
api_calls:
  description: AWS requests sent (0 when every session was still valid).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awssec.mfa.plugins.module_utils.awsfiles import FileError
from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter
from ansible_collections.awssec.mfa.plugins.module_utils.login import login_failure, login_from_params
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import WorkstationError

ARGUMENT_SPEC = dict(
    profiles=dict(type="list", elements="str", default=["all"]),
    token_codes=dict(type="dict", default={}, no_log=True),
    token_code=dict(type="str", no_log=True),
    duration_seconds=dict(type="int", default=43200),
    force=dict(type="bool", default=False),
    min_remaining_seconds=dict(type="int", default=300),
    credentials_file=dict(type="path"),
    config_file=dict(type="path"),
    long_term_suffix=dict(type="str", default="-long-term"),
    long_term_store=dict(type="str", choices=["file", "keyring"], default="file"),
    session_store=dict(type="str", choices=["file", "credential_process"], default="file"),
    env_file=dict(type="path"),
    key_expiration_days=dict(type="int", no_log=False),
    region=dict(type="str"),
    endpoint_url=dict(type="str"),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    counter = CallCounter()
    try:
        result = login_from_params(module.params, module.check_mode, counter)
    except (WorkstationError, FileError) as e:
        module.fail_json(msg=str(e), api_calls=counter.count)
    result["api_calls"] = counter.count
    failure = login_failure(result)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
