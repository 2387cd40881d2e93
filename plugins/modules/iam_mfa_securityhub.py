#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_mfa_securityhub
short_description: Send the MFA findings to AWS Security Hub, and archive those that no longer hold
version_added: 0.1.0
description:
  - >-
    Imports the findings of the C(iam_mfa) facts of M(awssec.mfa.iam_mfa_facts) (one account) or
    M(awssec.mfa.iam_mfa_org_facts) (many) into AWS Security Hub (securityhub:BatchImportFindings), in the AWS Security
    Finding Format - one finding per user and reason, and one per root finding of an account.
  - >-
    Each finding's C(Id) is the same for the same account, user and reason
    (C(awssec.mfa/ACCOUNT/user/NAME/REASON), C(awssec.mfa/ACCOUNT/root/REASON)), so a later run updates it and never adds
    a second one. Its C(GeneratorId) is C(awssec.mfa/REASON); its C(Severity) is the user's risk (a root finding's own);
    C(Compliance.Status) is C(FAILED); its resource is the C(AwsIamUser) (C(AwsAccount) for the root user); the
    remediation, and the exemption or grace period (C(Note), C(UserDefinedFields)), come from the report.
  - >-
    The findings of earlier runs that no longer hold are updated to C(PASSED) and C(ARCHIVED). They are read back with
    securityhub:GetFindings, filtered on this collection's C(GeneratorId)s. Only the accounts the facts report are
    judged, and only the users they hold - every user of an account when the facts were gathered without
    C(include_users) or C(users), so that a deleted user's findings are archived too.
  - >-
    Findings go to the default custom product of the account that imports them,
    C(arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default), in the partition of the run's credentials
    (C(aws-us-gov) in GovCloud, C(aws-cn) in China) and the module's O(region). Security Hub must be enabled there.
  - At most 100 findings a request; throttling is retried with jittered backoff; a finding that Security Hub refuses is
    reported with its reason and does not stop the others.
author:
  - awssec.mfa contributors (@awssec)
options:
  facts:
    description:
      - The C(iam_mfa) facts, of one account or of many (C(ansible_facts.iam_mfa) after either gathering module).
    type: dict
    required: true
  destination:
    description:
      - V(accounts) - each account's findings in its own Security Hub, imported with that account's credentials - the
        run's own for the account they act as, the account's C(role_arn) or C(profile) of O(accounts) for the others. An
        account that nothing reaches fails the module before any change, naming it (its findings would otherwise land
        in another account).
      - V(administrator) - every finding in the Security Hub of the account of the run's credentials (the Security Hub
        administrator account, or one that collects the findings). AWS requires a finding's C(AwsAccountId) to be the
        importing account; the account each finding is about is in its resource's ARN, its C(Id) and
        C(ProductFields) (C(awssec.mfa/account_id)).
    type: str
    choices: [accounts, administrator]
    default: accounts
  accounts:
    description:
      - How to reach the accounts of the facts with O(destination=accounts) - the same entries as
        M(awssec.mfa.iam_mfa_org_facts)'s O(awssec.mfa.iam_mfa_org_facts#module:accounts) (C(id), C(name), C(role_arn) or
        C(profile)); the filter C(awssec.mfa.mfa_org_accounts) makes them from an C(awssec.mfa.aws_accounts) inventory.
      - Every account is checked to be the one its credentials act as (sts:AssumeRole's answer, or sts:GetCallerIdentity).
    type: list
    elements: dict
    default: []
  concurrency:
    description:
      - How many accounts are reached, read and sent to at the same time (threads), with O(destination=accounts). From
        V(1) to V(64).
    type: int
    default: 16
notes:
  - >-
    Supports check mode and diff - the findings are read and compared, nothing is sent; RV(created), RV(updated) and
    RV(archived) say what would be, and C(--diff) shows each finding that would be created, would change or would be
    archived (its severity, compliance, record state and title).
  - >-
    C(changed) is true when a finding is created or archived, or says something new (its severity, status, description,
    note...). Every finding that still holds is sent again (RV(updated)), with a new C(UpdatedAt) and
    C(LastObservedAt) - Security Hub deletes findings not updated for 90 days.
  - >-
    Permissions - securityhub:BatchImportFindings and securityhub:GetFindings in each importing account; sts:AssumeRole
    of the accounts' roles.
  - >-
    When some findings are refused, the module fails, naming them with Security Hub's reasons, after sending the others,
    and returns RV(refused).
  - docs/securityhub.md in the collection explains how to enable the findings, the administrator account, and how this
    compares with Prowler's C(--security-hub).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Gather one account's facts
  awssec.mfa.iam_mfa_facts:

- name: Send the findings to its Security Hub (check first with --check --diff)
  awssec.mfa.iam_mfa_securityhub:
    facts: "{{ ansible_facts.iam_mfa }}"
    region: eu-west-1

- name: Many accounts, each into its own Security Hub through its role
  awssec.mfa.iam_mfa_securityhub:
    facts: "{{ ansible_facts.iam_mfa }}"  # of iam_mfa_org_facts
    accounts:
      - id: "111111111111"
        role_arn: arn:aws:iam::111111111111:role/SecurityAudit
      - id: "222222222222"
        profile: dev-admin

- name: Or every account's findings into the Security Hub administrator account (the run's credentials)
  awssec.mfa.iam_mfa_securityhub:
    facts: "{{ ansible_facts.iam_mfa }}"
    destination: administrator
"""

RETURN = r"""
created:
  description: The Ids of the findings created (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: ["awssec.mfa/123456789012/user/alice/console_without_mfa"]
updated:
  description: The Ids of the findings of earlier runs that still hold, sent again (would be, in check mode).
  returned: always
  type: list
  elements: str
archived:
  description: The Ids of the findings of earlier runs that no longer hold, now C(PASSED) and C(ARCHIVED) (would be, in check mode).
  returned: always
  type: list
  elements: str
refused:
  description: The findings Security Hub refused, each with its C(id), C(error_code) and C(message).
  returned: always
  type: list
  elements: dict
requests:
  description: The securityhub:BatchImportFindings requests sent (none in check mode; retries not counted).
  returned: always
  type: int
region:
  description: The Region of the Security Hub the findings went to.
  returned: always
  type: str
accounts:
  description: Per import, the account the findings are about (or the importer's, with O(destination=administrator)), the
    importing account, its product ARN and how many findings were created, updated (C(changed) of them saying something
    new), archived and refused.
  returned: always
  type: list
  elements: dict
  sample: [{"account_id": "123456789012", "importer": "123456789012", "created": 3, "updated": 40, "changed": 1, "archived": 2,
            "refused": 0, "product_arn": "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"}]
"""

from datetime import datetime, timezone

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.awssec.mfa.plugins.module_utils.clients import CallCounter
from ansible_collections.awssec.mfa.plugins.module_utils.errors import AWSError, error_text
from ansible_collections.awssec.mfa.plugins.module_utils.fanout import Connector
from ansible_collections.awssec.mfa.plugins.module_utils.findings import each_finding
from ansible_collections.awssec.mfa.plugins.module_utils.org import account_hosts
from ansible_collections.awssec.mfa.plugins.module_utils.parallel import bounded_map, check_concurrency
from ansible_collections.awssec.mfa.plugins.module_utils.records import partition_of
from ansible_collections.awssec.mfa.plugins.module_utils.securityhub import RETRY, Target, credentials_of, keep_in_step


def targets_of(module, facts, destination, caller, accounts, concurrency):
    """Where each account's findings go (a Target per account, or one keyed None for the administrator), each checked to act
    as the account it is for. ValueError (nothing sent) for an account nothing reaches or reaches as another account."""
    how = credentials_of(facts, destination, caller["Account"], accounts)
    own = module.client("securityhub", retry_decorator=RETRY) if any(entry is None for entry in how.values()) else None
    connector = Connector(get_aws_connection_info(module)) if any(how.values()) else None

    def reach(item):
        account, entry = item
        if entry is None:
            client, identity = own, caller
        else:
            keys, profile = None, entry.get("aws_profile") or None
            if entry.get("role_arn"):
                keys, identity = connector.assume(entry["role_arn"], CallCounter())
            else:
                identity = connector.client("sts", profile=profile).get_caller_identity(aws_retry=True)
            client = connector.client("securityhub", profile=profile, keys=keys, retry=RETRY)
        if account is not None and identity["Account"] != account:
            raise ValueError(f"account {account}: its credentials act as account {identity['Account']}; nothing was sent")
        return Target(client, identity["Account"], partition_of(identity["Arn"]))

    return dict(zip(how, bounded_map(reach, list(how.items()), concurrency)))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            facts=dict(type="dict", required=True),
            destination=dict(type="str", choices=["accounts", "administrator"], default="accounts"),
            accounts=dict(type="list", elements="dict", default=[]),
            concurrency=dict(type="int", default=16),
        ),
        supports_check_mode=True,
    )
    facts = module.params["facts"]
    if "users" not in facts or "account_id" not in facts:
        module.fail_json(msg="facts must be the iam_mfa facts of awssec.mfa.iam_mfa_facts or iam_mfa_org_facts (with account_id and users)")
    problems = check_concurrency(module.params["concurrency"])
    if problems:
        module.fail_json(msg=problems[0])
    region = module.region
    if not region:
        module.fail_json(msg="region: Security Hub is regional; give region (or AWS_REGION, or a profile's region)")
    try:
        accounts = account_hosts(module.params["accounts"], [], None, "", True)
        findings = each_finding(facts)
    except (ValueError, KeyError, TypeError) as e:
        module.fail_json(msg=f"accounts or facts: {e!r}" if not isinstance(e, ValueError) else str(e))
    try:
        caller = module.client("sts", retry_decorator=RETRY).get_caller_identity(aws_retry=True)
        targets = targets_of(module, facts, module.params["destination"], caller, accounts, module.params["concurrency"])
        grouped = {key: [f for f in findings if key is None or f.account_id == key] for key in targets}
        result = keep_in_step(facts, grouped, targets, region, module.check_mode, datetime.now(timezone.utc), module.params["concurrency"])
    except ValueError as e:
        module.fail_json(msg=str(e))
    except AWSError as e:
        module.fail_json(msg=error_text(e))
    except (BotoCoreError, ClientError) as e:
        module.fail_json_aws(e, msg="Failed to read this collection's findings in Security Hub (securityhub:GetFindings) or who the credentials are")
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    if result["refused"]:
        names = "; ".join(f"{f['id']} ({f['error_code']}: {f['message']})" for f in result["refused"][:5])
        module.fail_json(msg=f"Security Hub refused {len(result['refused'])} finding(s): {names}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
