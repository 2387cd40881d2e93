# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
name: aws_accounts
short_description: AWS accounts as inventory hosts, from a static list or an AWS Organization
version_added: 0.1.0
description:
  - Makes each AWS account a host (C(ansible_connection=local)) in group C(aws_accounts), with the variables
    C(account_id), C(account_name), C(account_email), C(role_arn) (the role to assume in it) and C(aws_profile).
    Playbooks such as C(awssec.mfa.org_report) then fan out over accounts with forks (and AWX job slicing).
  - Accounts come from O(accounts), or from AWS Organizations with O(organization) (organizations:ListAccounts; only
    C(ACTIVE) accounts; the role in each is O(role_name)), or both.
  - The file name must end with C(aws_accounts.yml) or C(aws_accounts.yaml).
  - With O(cache), a second run reads the cache and makes no AWS call.
author:
  - awssec.mfa contributors (@awssec)
extends_documentation_fragment:
  - inventory_cache
  - constructed
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
  - amazon.aws.assume_role.plugins
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [awssec.mfa.aws_accounts]
    type: str
  accounts:
    description:
      - Static accounts. Each has C(id) (12 digits) and optionally C(name), C(email), and how to reach it -
        C(role_arn), or C(profile), or neither (the credentials of the run).
    type: list
    elements: dict
    default: []
  organization:
    description: Add the ACTIVE accounts of the AWS Organization that the credentials belong to (its management or delegated administrator account).
    type: bool
    default: false
  role_name:
    description: The role assumed in each Organization account.
    type: str
    default: OrganizationAccountAccessRole
  include_management_account:
    description:
      - Add the Organization's management account, where many Organizations keep their IAM users. When the run's
        credentials are in it, it is reached with them (C(role_arn) is empty); from a delegated administrator account,
        through O(role_name) in it, like the members (if that role is missing there, the account is reported as failed).
      - V(false) leaves it out.
    type: bool
    default: true
  hostnames:
    description: Name hosts after the account C(name) (the ID when it has none) or its C(id).
    type: str
    choices: [name, id]
    default: name
"""

EXAMPLES = r"""
# org.aws_accounts.yml - every account of the Organization, cached for an hour
plugin: awssec.mfa.aws_accounts
organization: true
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/awssec-mfa-inventory
cache_timeout: 3600
keyed_groups:
  - key: account_name.split('-')[0]
    prefix: env
---
# static.aws_accounts.yml - two accounts, one reached through a profile
plugin: awssec.mfa.aws_accounts
accounts:
  - id: "111111111111"
    name: prod
    role_arn: arn:aws:iam::111111111111:role/SecurityAudit
  - id: "222222222222"
    name: dev
    profile: dev-admin
"""

from ansible.errors import AnsibleParserError

from ansible_collections.amazon.aws.plugins.plugin_utils.inventory import AWSInventoryBase

from ansible_collections.awssec.mfa.plugins.module_utils.clients import RETRY
from ansible_collections.awssec.mfa.plugins.module_utils.fanout import read_organization
from ansible_collections.awssec.mfa.plugins.module_utils.org import account_hosts

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AWSInventoryBase reports the missing SDK


class InventoryModule(AWSInventoryBase):
    NAME = "awssec.mfa.aws_accounts"
    INVENTORY_FILE_SUFFIXES = ("aws_accounts.yml", "aws_accounts.yaml")  # checked by AWSInventoryBase.verify_file

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        cached, hosts = self.get_cached_result(path, cache)
        if not cached:
            hosts = self._read_accounts()
            self.update_cached_result(path, cache, hosts)
        self._populate(hosts)

    def _read_accounts(self):
        accounts, management_id, partition, caller = [], None, "aws", None
        if self.get_option("organization"):
            try:
                accounts, management_id, partition, caller = read_organization(
                    self.client("organizations", retry_decorator=RETRY), self.client("sts", retry_decorator=RETRY))
            except (BotoCoreError, ClientError) as e:
                raise AnsibleParserError(f"{self.NAME}: could not list the Organization's accounts: {e}")
        try:
            return account_hosts(self.get_option("accounts"), accounts, management_id, self.get_option("role_name"),
                                 self.get_option("include_management_account"), partition, caller)
        except ValueError as e:
            raise AnsibleParserError(f"{self.NAME}: {e}")

    def _populate(self, hosts):
        group = self.inventory.add_group("aws_accounts")
        strict = self.get_option("strict")
        by_id = self.get_option("hostnames") == "id"
        for record in hosts:
            name = record["account_id"] if by_id else record["account_name"]
            self.inventory.add_host(name, group=group)
            for key, value in record.items():
                self.inventory.set_variable(name, key, value)
            self.inventory.set_variable(name, "ansible_connection", "local")
            self._set_composite_vars(self.get_option("compose"), record, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), record, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), record, name, strict=strict)
